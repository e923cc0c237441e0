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
    {{ lake_lineage_columns() }}
from {{ ref('stg_customs__border_trade_daily') }}
