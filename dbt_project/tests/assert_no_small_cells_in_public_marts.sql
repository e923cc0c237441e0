{#- Disclosure control holds in every public mart: no count derived from a personal-data dataset
    (contract personal_data, threshold disclosure_threshold from catalog.json) is between 1 and
    threshold - 1. Written from the contracts and the seed, independently of int_kpi__disclosure. -#}
with

datasets as (

    select contract_id, disclosure_threshold from {{ ref('stg_contracts__datasets') }} where holds_personal_data

),

personal_kpis as (

    select
        definitions.kpi_code,
        string_split(coalesce(definitions.count_columns, 'observation_count'), ' ') as count_columns,
        max(datasets.disclosure_threshold) as threshold
    from {{ ref('kpi_definitions') }} as definitions
    cross join unnest(string_split(definitions.source_datasets, ',')) as sources (contract_id)
    inner join datasets on datasets.contract_id = trim(sources.contract_id)
    group by 1, 2

),

kpi_counts as (

    select 'mart_provincial_kpi' as mart, kpi.kpi_value_id as row_id, counts.column_name, counts.n, personal_kpis.threshold
    from {{ ref('mart_provincial_kpi') }} as kpi
    inner join personal_kpis on personal_kpis.kpi_code = kpi.kpi_code
    cross join lateral (
        values ('observation_count', cast(kpi.observation_count as double)), ('numerator', kpi.numerator),
               ('denominator', kpi.denominator), ('value', kpi.value)
    ) as counts (column_name, n)
    where list_contains(personal_kpis.count_columns, counts.column_name)

),

quality_counts as (

    select 'mart_data_quality' as mart, quality.contract_id as row_id, counts.column_name, counts.n, datasets.disclosure_threshold as threshold
    from {{ ref('mart_data_quality') }} as quality
    inner join datasets on datasets.contract_id = quality.contract_id
    cross join lateral (
        values ('rows_in', cast(quality.rows_in as double)), ('rows_landed', quality.rows_landed),
               ('rows_quarantined', quality.rows_quarantined), ('bronze_rows', quality.bronze_rows),
               ('distinct_events', quality.distinct_events), ('duplicate_rows', quality.duplicate_rows),
               ('current_rows', quality.current_rows)
    ) as counts (column_name, n)

),

catalog_counts as (

    select 'mart_open_data_catalog' as mart, catalog.dataset_id as row_id, 'row_count' as column_name,
        cast(catalog.row_count as double) as n, datasets.disclosure_threshold as threshold
    from {{ ref('mart_open_data_catalog') }} as catalog
    inner join datasets on datasets.contract_id = catalog.dataset_id

),

everything as (

    select * from kpi_counts
    union all select * from quality_counts
    union all select * from catalog_counts

)

select * from everything where n > 0 and n < threshold
