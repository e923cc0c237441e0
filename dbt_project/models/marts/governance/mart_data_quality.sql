{#-
    One row per Kafka dataset (contract): what landed, what was quarantined, replays seen, and
    freshness against the contract's SLA. Freshness is measured at `as_of` — the start of the dbt
    invocation (var as_of overrides it, e.g. in tests) — as hours since the newest _ingested_at in
    bronze: fresh when within freshness_sla_hours, stale otherwise, no_data when nothing landed,
    no_sla when the contract has no freshness SLA.

    Disclosure control (macros/disclosure_control.sql) for datasets that hold personal data: a
    record count between 1 and the contract's disclosure_threshold - 1 is null. Counts that a
    published total ties together are hidden in pairs (rows_landed + rows_quarantined = rows_in,
    distinct_events + duplicate_rows = bronze_rows), share_valid with them (it is their ratio), and
    the quarantine rules are listed without their counts (they add up to rows_quarantined).
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
        cast('{{ var("as_of", run_started_at.isoformat()) }}' as timestamptz) as as_of,
        case when datasets.holds_personal_data then datasets.disclosure_threshold end as suppression_threshold
    from datasets
    left join ingestion on ingestion.contract_id = datasets.contract_id
    left join profile on profile.contract_id = datasets.contract_id

),

checked as (

    select
        *,
        {{ small_cell('rows_landed', 'suppression_threshold') }} or {{ small_cell('rows_quarantined', 'suppression_threshold') }} as hide_ledger_pair,
        {{ small_cell('rows_in', 'suppression_threshold') }} as hide_rows_in,
        {{ small_cell('distinct_events', 'suppression_threshold') }}
            or {{ small_cell('bronze_rows - distinct_events', 'suppression_threshold') }} as hide_event_pair,
        {{ small_cell('bronze_rows', 'suppression_threshold') }} as hide_bronze_rows,
        {{ small_cell('current_rows', 'suppression_threshold') }} as hide_current_rows
    from measured

),

protected as (

    select
        * replace (
            case when hide_rows_in then null else rows_in end as rows_in,
            case when hide_ledger_pair then null else rows_landed end as rows_landed,
            case when hide_ledger_pair then null else rows_quarantined end as rows_quarantined,
            case when hide_bronze_rows then null else bronze_rows end as bronze_rows,
            case when hide_event_pair then null else distinct_events end as distinct_events,
            case when hide_current_rows then null else current_rows end as current_rows,
            case
                when suppression_threshold is not null then regexp_replace(quarantine_rules, ' \(\d+\)', '', 'g')
                else quarantine_rules
            end as quarantine_rules
        ),
        case when hide_event_pair then null else bronze_rows - distinct_events end as duplicate_rows,
        {{ safe_ratio('case when hide_ledger_pair then null else rows_landed end', 'case when hide_ledger_pair then null else rows_landed + rows_quarantined end') }} as share_valid,
        coalesce(hide_ledger_pair or hide_rows_in or hide_event_pair or hide_bronze_rows or hide_current_rows, false) as is_suppressed,
        case
            when hide_rows_in or hide_bronze_rows or hide_current_rows then {{ suppression_reason("'primary'", 'suppression_threshold') }}
            when hide_ledger_pair or hide_event_pair then {{ suppression_reason("'primary'", 'suppression_threshold') }}
                || '; ' || {{ suppression_reason("'secondary'", 'suppression_threshold') }}
        end as suppression_reason
    from checked

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
        measured.share_valid,
        measured.quarantine_rules,
        measured.bronze_rows,
        measured.distinct_events,
        measured.duplicate_rows,
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
        measured.as_of,
        measured.is_suppressed,
        measured.suppression_reason,
        cast(measured.suppression_threshold as integer) as suppression_threshold
    from protected as measured
    left join agencies on agencies.agency_code = measured.agency_code

)

select * from final
