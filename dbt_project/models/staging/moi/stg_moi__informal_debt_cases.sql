{#- citizen_id never lands in clear: only its HMAC pseudonym, renamed debtor_key here. -#}
with

source as (

    select * from {{ lake_source('bronze_moi', 'informal_debt_cases') }}

),

renamed as (

    select
        cast(case_id as varchar) as case_id,
        cast(citizen_id_hmac as varchar) as debtor_key,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(district_name as varchar) as district_name,
        cast(creditor_type as varchar) as creditor_type,
        cast(principal_thb as double) as principal_thb,
        cast(status as varchar) as case_status,
        cast(registered_on as date) as registered_on,
        cast(mediated_on as date) as mediated_on,
        cast(settled_on as date) as settled_on,
        cast(settled_amount_thb as double) as settled_amount_thb,
        cast(debt_reduced_thb as double) as debt_reduced_thb,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['case_id']) }}

)

select * from deduplicated
