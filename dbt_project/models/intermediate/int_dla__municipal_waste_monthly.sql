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
    {{ lake_lineage_columns() }}
from {{ ref('stg_dla__municipal_waste_monthly') }}
