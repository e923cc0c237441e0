{#- e-Service transactions in the names the marts use: province_iso, is_fully_digital.
    Typed, deduplicated rows come from the generated staging model. -#}
select
    service_code,
    service_name_th,
    agency_code,
    channel,
    province_code as province_iso,
    province_raw,
    txn_date,
    transactions,
    fully_digital as is_fully_digital,
    completed_transactions,
    {{ lake_lineage_columns() }}
from {{ ref('stg_dga__eservice_transactions_daily') }}
