{#-
    One row per province × KPI × period (calendar month and Thai fiscal year), for every province
    that has data, with the pilot province's target and status.

    Targets (seed kpi_targets) are set per fiscal year. A month's target is the fiscal-year target
    / 12 for flow KPIs (monthly_target_rule = fy_over_12: counts, tonnes, baht) and the fiscal-year
    target itself for level KPIs (fy_value: shares, means, growth rates).

    Status: no_target when the province has no target for the KPI and fiscal year; no_data when
    there is a target but no value; on_track when the value meets the target (>= for
    higher_is_better, <= for lower_is_better); at_risk when it misses by at most the tolerance
    (10 % of |target|, var at_risk_relative_tolerance, or the KPI's tolerance_abs when larger);
    off_track otherwise; suppressed when the value is withheld by disclosure control (no status is
    computed against a hidden value). An incomplete period (is_period_complete = false: the
    current month or fiscal year, or the first one of a source) compares a partial value with a full target.

    Disclosure control (int_kpi__disclosure, macros/disclosure_control.sql): for KPIs derived from
    a personal-data dataset, a suppressed cell has value, numerator, denominator and
    observation_count null, is_suppressed true, a suppression_reason and the contract's
    suppression_threshold; rows of other datasets have is_suppressed false and no threshold.
-#}
with

raw_values as (

    select * from {{ ref('int_kpi__values') }}

),

disclosure as (

    select * from {{ ref('int_kpi__disclosure') }}

),

kpi_values as (

    select
        raw_values.province_iso,
        raw_values.kpi_code,
        raw_values.period_type,
        raw_values.period_start,
        raw_values.period_end,
        raw_values.fiscal_year_be,
        raw_values.period_label_th,
        raw_values.period_label_en,
        raw_values.is_period_complete,
        case when disclosure.is_suppressed then null else raw_values.numerator end as numerator,
        case when disclosure.is_suppressed then null else raw_values.denominator end as denominator,
        case when disclosure.is_suppressed then null else raw_values.value end as value,
        case when disclosure.is_suppressed then null else raw_values.observation_count end as observation_count,
        coalesce(disclosure.is_suppressed, false) as is_suppressed,
        disclosure.suppression_reason,
        disclosure.suppression_threshold
    from raw_values
    left join disclosure
        on disclosure.province_iso = raw_values.province_iso
        and disclosure.kpi_code = raw_values.kpi_code
        and disclosure.period_type = raw_values.period_type
        and disclosure.period_start = raw_values.period_start

),

definitions as (

    select * from {{ ref('kpi_definitions') }}

),

agendas as (

    select * from {{ ref('pilot_agendas') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

provinces as (

    select * from {{ ref('dim_province') }}

),

targeted as (

    select
        kpi_values.*,
        definitions.direction,
        case
            when targets.target is null then null
            when kpi_values.period_type = 'month' and definitions.monthly_target_rule = 'fy_over_12' then targets.target / 12.0
            else targets.target
        end as target,
        targets.target as target_fiscal_year,
        definitions.tolerance_abs
    from kpi_values
    inner join definitions on definitions.kpi_code = kpi_values.kpi_code
    left join targets
        on targets.province_iso = kpi_values.province_iso
        and targets.kpi_code = kpi_values.kpi_code
        and targets.fiscal_year_be = kpi_values.fiscal_year_be

),

with_status as (

    select
        *,
        greatest({{ var('at_risk_relative_tolerance') }} * abs(target), coalesce(tolerance_abs, 0)) as tolerance,
        case
            when target is null then 'no_target'
            when is_suppressed then 'suppressed'
            when value is null then 'no_data'
            when direction = 'higher_is_better' and value >= target then 'on_track'
            when direction = 'lower_is_better' and value <= target then 'on_track'
            when direction = 'higher_is_better'
                and value >= target - greatest({{ var('at_risk_relative_tolerance') }} * abs(target), coalesce(tolerance_abs, 0)) then 'at_risk'
            when direction = 'lower_is_better'
                and value <= target + greatest({{ var('at_risk_relative_tolerance') }} * abs(target), coalesce(tolerance_abs, 0)) then 'at_risk'
            else 'off_track'
        end as status
    from targeted

),

final as (

    select
        with_status.province_iso || '|' || with_status.kpi_code || '|' || with_status.period_type
            || '|' || strftime(with_status.period_start, '%Y-%m-%d') as kpi_value_id,
        with_status.province_iso,
        provinces.province_code,
        provinces.province_name_th,
        provinces.province_name_en,
        provinces.region_en,
        coalesce(provinces.is_pilot, false) as is_pilot_province,
        with_status.kpi_code,
        definitions.kpi_name_th,
        definitions.kpi_name_en,
        cast(definitions.display_order as integer) as kpi_display_order,
        definitions.agenda_code,
        agendas.agenda_name_th,
        agendas.agenda_name_en,
        coalesce(agendas.province_iso = with_status.province_iso, false) as is_agenda_pilot,
        with_status.period_type,
        with_status.period_start,
        with_status.period_end,
        cast(with_status.fiscal_year_be as integer) as fiscal_year_be,
        with_status.period_label_th,
        with_status.period_label_en,
        with_status.is_period_complete,
        with_status.value,
        definitions.unit,
        with_status.numerator,
        with_status.denominator,
        with_status.observation_count,
        with_status.is_suppressed,
        with_status.suppression_reason,
        with_status.suppression_threshold,
        with_status.target,
        with_status.target_fiscal_year,
        definitions.direction,
        with_status.status,
        definitions.source_datasets
    from with_status
    inner join definitions on definitions.kpi_code = with_status.kpi_code
    left join agendas on agendas.agenda_code = definitions.agenda_code
    left join provinces on provinces.province_iso = with_status.province_iso

)

select * from final
