{#- Municipal waste in the names the marts use: province_iso.
    Typed, deduplicated rows come from the generated staging model. -#}
select
    lao_code,
    lao_name_th,
    lao_type,
    province_code as province_iso,
    province_raw,
    district_name,
    period_month,
    generated_tonnes,
    collected_tonnes,
    properly_disposed_tonnes,
    recycled_tonnes,
    improperly_disposed_tonnes,
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
from {{ ref('stg_dla__municipal_waste_monthly') }}
