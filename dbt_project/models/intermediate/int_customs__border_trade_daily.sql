{#- Border trade in the names the marts use: the province of the checkpoint as province_iso; the HS section as integer.
    Typed, deduplicated rows come from the generated staging model. -#}
select
    checkpoint_code,
    checkpoint_name_th,
    province_code as province_iso,
    province_raw,
    trade_date,
    direction,
    partner_country,
    cast(hs_section as integer) as hs_section,
    value_thb,
    quantity_tonnes,
    _event_id,
    _kafka_topic,
    _kafka_partition,
    _kafka_offset,
    _kafka_timestamp,
    _batch_id,
    _contract_version,
    _ingested_at,
    ingest_date,
    _first_published_at,
    _first_offset
from {{ ref('stg_customs__border_trade_daily') }}
