{#-
    Which KPI cells of personal-data datasets are suppressed, and why (statistical disclosure
    control; the rule is documented in macros/disclosure_control.sql and README.md). One row per
    KPI row of a KPI whose source datasets hold personal data; KPIs of other datasets have no row
    here and are published as they are. The threshold is the source contract's
    disclosure_threshold (the largest one when a KPI reads several personal-data datasets).
-#}
with

kpi_values as (

    select * from {{ ref('int_kpi__values') }}

),

definitions as (

    select * from {{ ref('kpi_definitions') }}

),

datasets as {{ personal_data_thresholds() }},

protected_kpis as (

    select
        definitions.kpi_code,
        coalesce(nullif(trim(definitions.disclosure_group), ''), definitions.kpi_code) as disclosure_group,
        string_split(coalesce(nullif(trim(definitions.count_columns), ''), 'observation_count'), ' ') as count_columns,
        max(datasets.disclosure_threshold) as suppression_threshold
    from definitions
    cross join unnest(string_split(definitions.source_datasets, ',')) as sources (contract_id)
    inner join datasets
        on datasets.contract_id = trim(sources.contract_id)
        and datasets.holds_personal_data
    group by 1, 2, 3

),

kpi_rows as (

    select
        kpi_values.province_iso,
        kpi_values.kpi_code,
        kpi_values.period_type,
        kpi_values.period_start,
        kpi_values.fiscal_year_be,
        kpi_values.observation_count,
        protected_kpis.disclosure_group,
        protected_kpis.suppression_threshold,
        (list_contains(protected_kpis.count_columns, 'observation_count')
            and {{ small_cell('kpi_values.observation_count', 'protected_kpis.suppression_threshold') }})
        or (list_contains(protected_kpis.count_columns, 'value')
            and {{ small_cell('kpi_values.value', 'protected_kpis.suppression_threshold') }})
        or (list_contains(protected_kpis.count_columns, 'numerator')
            and {{ small_cell('kpi_values.numerator', 'protected_kpis.suppression_threshold') }})
        or (list_contains(protected_kpis.count_columns, 'denominator')
            and {{ small_cell('kpi_values.denominator', 'protected_kpis.suppression_threshold') }})
        or (list_contains(protected_kpis.count_columns, 'numerator')
            and list_contains(protected_kpis.count_columns, 'denominator')
            and {{ small_cell('kpi_values.denominator - kpi_values.numerator', 'protected_kpis.suppression_threshold') }}) as is_small
    from kpi_values
    inner join protected_kpis on protected_kpis.kpi_code = kpi_values.kpi_code

),

-- one disclosure cell per province × disclosure group × period: KPIs that share counts go together
cells as (

    select
        province_iso,
        disclosure_group,
        period_type,
        period_start,
        fiscal_year_be,
        max(suppression_threshold) as suppression_threshold,
        bool_or(is_small) as is_primary,
        coalesce(max(observation_count), 0) as cell_size
    from kpi_rows
    group by 1, 2, 3, 4, 5

),

fiscal_years as (

    select * from cells where period_type = 'fiscal_year'

),

months as (

    select * from cells where period_type = 'month'

),

-- 1. months within a fiscal year: the fiscal-year cell is their total
month_groups as (

    select
        months.*,
        coalesce(fiscal_years.is_primary, false) as is_total_suppressed,
        count(*) filter (where months.is_primary) over fiscal_year as primary_in_group,
        row_number() over (fiscal_year order by months.is_primary or months.cell_size = 0, months.cell_size, months.period_start) as complement_rank
    from months
    left join fiscal_years
        on fiscal_years.province_iso = months.province_iso
        and fiscal_years.disclosure_group = months.disclosure_group
        and fiscal_years.fiscal_year_be = months.fiscal_year_be
    window fiscal_year as (partition by months.province_iso, months.disclosure_group, months.fiscal_year_be)

),

months_within_year as (

    select
        *,
        case
            when is_primary then 'primary'
            when primary_in_group = 1 and not is_total_suppressed and complement_rank = 1 and cell_size > 0 then 'secondary'
        end as suppression_kind
    from month_groups

),

-- 2. fiscal years across provinces: together they are the dataset's total
fiscal_year_groups as (

    select
        *,
        count(*) filter (where is_primary) over dataset as primary_in_group,
        row_number() over (dataset order by is_primary or cell_size = 0, cell_size, province_iso, period_start) as complement_rank
    from fiscal_years
    window dataset as (partition by disclosure_group)

),

fiscal_years_across_provinces as (

    select
        *,
        case
            when is_primary then 'primary'
            when primary_in_group = 1 and complement_rank = 1 and cell_size > 0 then 'secondary'
        end as suppression_kind
    from fiscal_year_groups

),

-- a fiscal year hidden as a complement would still be the sum of its months: hide one of them too
month_cascade as (

    select
        months_within_year.*,
        coalesce(fiscal_years_across_provinces.suppression_kind = 'secondary', false) as is_total_secondary,
        count(*) filter (where months_within_year.suppression_kind is not null) over fiscal_year as hidden_in_group,
        row_number() over (
            fiscal_year order by months_within_year.suppression_kind is not null or months_within_year.cell_size = 0,
            months_within_year.cell_size, months_within_year.period_start
        ) as cascade_rank
    from months_within_year
    left join fiscal_years_across_provinces
        on fiscal_years_across_provinces.province_iso = months_within_year.province_iso
        and fiscal_years_across_provinces.disclosure_group = months_within_year.disclosure_group
        and fiscal_years_across_provinces.fiscal_year_be = months_within_year.fiscal_year_be
    window fiscal_year as (
        partition by months_within_year.province_iso, months_within_year.disclosure_group, months_within_year.fiscal_year_be
    )

),

decided as (

    select
        province_iso, disclosure_group, period_type, period_start, suppression_threshold,
        coalesce(
            suppression_kind,
            case when is_total_secondary and hidden_in_group = 0 and cascade_rank = 1 and cell_size > 0 then 'secondary' end
        ) as suppression_kind
    from month_cascade

    union all

    select province_iso, disclosure_group, period_type, period_start, suppression_threshold, suppression_kind
    from fiscal_years_across_provinces

),

final as (

    select
        kpi_rows.province_iso,
        kpi_rows.kpi_code,
        kpi_rows.period_type,
        kpi_rows.period_start,
        kpi_rows.disclosure_group,
        decided.suppression_kind is not null as is_suppressed,
        decided.suppression_kind,
        {{ suppression_reason('decided.suppression_kind', 'decided.suppression_threshold') }} as suppression_reason,
        cast(decided.suppression_threshold as integer) as suppression_threshold
    from kpi_rows
    inner join decided
        on decided.province_iso = kpi_rows.province_iso
        and decided.disclosure_group = kpi_rows.disclosure_group
        and decided.period_type = kpi_rows.period_type
        and decided.period_start = kpi_rows.period_start

)

select * from final
