{#- Informal-debt cases for the marts: the debtor is known only by the HMAC pseudonym of the citizen id (debtor_key; the clear id never lands), status is case_status.
    Typed, deduplicated rows come from the generated staging model. -#}
select
    case_id,
    citizen_id_hmac as debtor_key,
    province_code as province_iso,
    province_raw,
    district_name,
    creditor_type,
    principal_thb,
    status as case_status,
    registered_on,
    mediated_on,
    settled_on,
    settled_amount_thb,
    debt_reduced_thb,
    {{ lake_lineage_columns() }}
from {{ ref('stg_moi__informal_debt_cases') }}
