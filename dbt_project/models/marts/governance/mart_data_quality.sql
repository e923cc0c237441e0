{#-
    One row per Kafka dataset (contract): what landed, what was quarantined, replays seen, and
    freshness against the contract's SLA. Freshness is measured at `as_of` — the start of the dbt
    invocation (var as_of overrides it, e.g. in tests) — as hours since the newest _ingested_at in
    bronze: fresh when within freshness_sla_hours, stale otherwise, no_data when nothing landed,
    no_sla when the contract has no freshness SLA.
-#}
with

datasets as (

    select * from {{ ref('stg_contracts__datasets') }} where not is_seed

),

agencies as (

    select * from {{ ref('dim_agency') }}

),

ingestion as (

    select * from {{ ref('int_lake__ingestion_summary') }}

),

profile as (

    select * from {{ ref('int_lake__dataset_profile') }}

),

measured as (

    select
        datasets.contract_id,
        datasets.agency_code,
        datasets.dataset,
        datasets.title_th,
        datasets.title_en,
        datasets.contract_version,
        datasets.freshness_sla_hours,
        cast(coalesce(ingestion.batches, 0) as integer) as batches,
        cast(coalesce(ingestion.gx_failed_batches, 0) as integer) as gx_failed_batches,
        cast(coalesce(ingestion.rows_in, 0) as bigint) as rows_in,
        cast(coalesce(ingestion.rows_landed, 0) as bigint) as rows_landed,
        cast(coalesce(ingestion.rows_quarantined, 0) as bigint) as rows_quarantined,
        ingestion.quarantine_rules,
        ingestion.first_landed_at,
        ingestion.last_landed_at,
        cast(coalesce(profile.bronze_rows, 0) as bigint) as bronze_rows,
        cast(coalesce(profile.distinct_events, 0) as bigint) as distinct_events,
        cast(coalesce(profile.current_rows, 0) as bigint) as current_rows,
        profile.data_start_date,
        profile.data_end_date,
        profile.newest_ingested_at,
        cast('{{ var("as_of", run_started_at.isoformat()) }}' as timestamptz) as as_of
    from datasets
    left join ingestion on ingestion.contract_id = datasets.contract_id
    left join profile on profile.contract_id = datasets.contract_id

),

final as (

    select
        measured.contract_id,
        measured.agency_code,
        agencies.agency_name_th,
        agencies.agency_name_en,
        measured.dataset,
        measured.title_th,
        measured.title_en,
        measured.contract_version,
        measured.batches,
        measured.gx_failed_batches,
        measured.rows_in,
        measured.rows_landed,
        measured.rows_quarantined,
        {{ safe_ratio('measured.rows_landed', 'measured.rows_landed + measured.rows_quarantined') }} as share_valid,
        measured.quarantine_rules,
        measured.bronze_rows,
        measured.distinct_events,
        measured.bronze_rows - measured.distinct_events as duplicate_rows,
        measured.current_rows,
        measured.data_start_date,
        measured.data_end_date,
        measured.first_landed_at,
        measured.last_landed_at,
        measured.newest_ingested_at,
        measured.freshness_sla_hours,
        round(date_diff('second', measured.newest_ingested_at, measured.as_of) / 3600.0, 2) as hours_since_last_ingest,
        case
            when measured.newest_ingested_at is null then 'no_data'
            when measured.freshness_sla_hours is null then 'no_sla'
            when date_diff('second', measured.newest_ingested_at, measured.as_of) / 3600.0 <= measured.freshness_sla_hours then 'fresh'
            else 'stale'
        end as freshness_status,
        measured.as_of
    from measured
    left join agencies on agencies.agency_code = measured.agency_code

)

select * from final
