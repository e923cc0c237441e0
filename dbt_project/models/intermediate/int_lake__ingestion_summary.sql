{#- Ledger and quarantine totals per dataset. -#}
with

batches as (

    select * from {{ ref('stg_lake__ingestion_batches') }}

),

quarantined as (

    select * from {{ ref('stg_lake__quarantined_records') }}

),

ledger as (

    select
        contract_id,
        count(*) as batches,
        count(*) filter (where not gx_success) as gx_failed_batches,
        sum(rows_in) as rows_in,
        sum(rows_landed) as rows_landed,
        sum(rows_quarantined) as rows_quarantined,
        min(finished_at) as first_landed_at,
        max(finished_at) as last_landed_at
    from batches
    group by contract_id

),

rules as (

    select contract_id, rule_id, count(*) as records
    from quarantined
    group by contract_id, rule_id

),

rule_summary as (

    select
        contract_id,
        string_agg(rule_id || ' (' || cast(records as varchar) || ')', ', ' order by records desc, rule_id) as quarantine_rules
    from rules
    group by contract_id

),

final as (

    select
        coalesce(ledger.contract_id, rule_summary.contract_id) as contract_id,
        coalesce(ledger.batches, 0) as batches,
        coalesce(ledger.gx_failed_batches, 0) as gx_failed_batches,
        coalesce(ledger.rows_in, 0) as rows_in,
        coalesce(ledger.rows_landed, 0) as rows_landed,
        coalesce(ledger.rows_quarantined, 0) as rows_quarantined,
        ledger.first_landed_at,
        ledger.last_landed_at,
        rule_summary.quarantine_rules
    from ledger
    full outer join rule_summary on rule_summary.contract_id = ledger.contract_id

)

select * from final
