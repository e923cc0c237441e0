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
from {{ ref('stg_moi__informal_debt_cases') }}
