{#-
    One row per dataset of the exchange, reference seeds included: CKAN / GD-Catalog metadata from
    the generated catalog.json plus what the data says — row count, time coverage (min/max of the
    main date), last update, freshness, quality score (share of valid records) and the KPIs that
    use it. Lists are DuckDB lists (Parquet LIST<VARCHAR>). Counts of personal-data datasets are
    disclosure-controlled in mart_data_quality (row_count and quality_score null when withheld).
-#}
with

datasets as (

    select * from {{ ref('stg_contracts__datasets') }}

),

quality as (

    select * from {{ ref('mart_data_quality') }}

),

kpis as (

    select * from {{ ref('kpi_definitions') }}

),

kpi_usage as (

    select
        trim(dataset_id) as contract_id,
        list(kpi_code order by display_order) as kpi_codes
    from kpis, unnest(string_split(source_datasets, ',')) as t (dataset_id)
    group by 1

),

seed_rows as (

    select 'ref.provinces' as contract_id, count(*) as row_count from {{ ref('ref_provinces') }}
    union all
    select 'ref.agencies' as contract_id, count(*) as row_count from {{ ref('ref_agencies') }}

),

final as (

    select
        datasets.contract_id as dataset_id,
        datasets.ckan_name,
        datasets.agency_code,
        datasets.dataset,
        datasets.title_th,
        datasets.title_en,
        datasets.notes,
        datasets.owner_agency_code,
        datasets.owner_agency_name_th,
        datasets.owner_agency_name_en,
        datasets.maintainer,
        datasets.maintainer_email,
        datasets.tags,
        datasets.domain,
        datasets.data_type,
        datasets.objective,
        datasets.update_frequency_unit,
        datasets.update_frequency_interval,
        datasets.geo_coverage,
        datasets.data_source,
        datasets.data_format,
        datasets.data_category,
        datasets.data_classification,
        datasets.license_id,
        datasets.accessible_condition,
        datasets.data_language,
        datasets.unit_of_measure,
        datasets.calculation_method,
        datasets.first_year_of_data_be,
        coalesce(datasets.last_year_of_data_be, cast(year(quality.data_end_date) + 543 as integer)) as last_year_of_data_be,
        datasets.is_high_value_dataset,
        datasets.is_reference_data,
        datasets.is_official_statistics,
        datasets.access_level,
        datasets.is_seed,
        datasets.kafka_topic,
        datasets.contract_version,
        datasets.contract_status,
        datasets.pilot_provinces,
        -- a row count withheld by disclosure control stays null (never shown as 0)
        cast(case when quality.current_rows is null and quality.is_suppressed then null
            else coalesce(quality.current_rows, seed_rows.row_count, 0) end as bigint) as row_count,
        quality.data_start_date as time_coverage_start,
        quality.data_end_date as time_coverage_end,
        quality.newest_ingested_at as last_updated_at,
        datasets.freshness_sla_hours,
        case when datasets.is_seed then 'static' else quality.freshness_status end as freshness_status,
        quality.share_valid as quality_score,
        coalesce(kpi_usage.kpi_codes, []::varchar[]) as kpi_codes,
        coalesce(quality.is_suppressed, false) as is_suppressed,
        quality.suppression_reason,
        coalesce(quality.suppression_threshold, case when datasets.holds_personal_data then datasets.disclosure_threshold end) as suppression_threshold
    from datasets
    left join quality on quality.contract_id = datasets.contract_id
    left join seed_rows on seed_rows.contract_id = datasets.contract_id
    left join kpi_usage on kpi_usage.contract_id = datasets.contract_id

)

select * from final
