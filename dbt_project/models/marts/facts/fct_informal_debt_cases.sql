{#- One row per informal-debt case in its latest state. Personal data: the debtor is only the
    pseudonym debtor_key (citizen_id_hmac); nothing else identifies a person. Not exported to
    Parquet (meta.export = false): dashboards read the aggregates in mart_provincial_kpi. -#}
{{ config(meta={'export': false, 'contains_pseudonymised_personal_data': true}) }}

with

cases as (

    select * from {{ ref('int_moi__informal_debt_cases') }}

),

final as (

    select
        case_id,
        debtor_key,
        province_iso,
        district_name,
        creditor_type,
        principal_thb,
        case_status,
        registered_on,
        mediated_on,
        settled_on,
        coalesce(mediated_on, settled_on) as resolved_on,
        settled_amount_thb,
        debt_reduced_thb,
        case_status in ('mediated', 'settled') as is_mediated_or_settled,
        case_status = 'cancelled' as is_cancelled,
        cast(row_number() over (partition by debtor_key order by registered_on, case_id) as integer) as debtor_case_number,
        _ingested_at as last_ingested_at
    from cases

)

select * from final
