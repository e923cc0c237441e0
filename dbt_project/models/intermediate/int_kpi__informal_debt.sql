{#-
    Buriram informal-debt KPIs (every province with cases), on pseudonymised keys only:
      debt_debtors_registered       distinct debtor_key with a case registered in the period
      debt_mediated_or_settled_pct  of the cases registered in the period and not cancelled, the
                                    share now mediated or settled
      debt_reduced_thb              debt reduced by cases resolved in the period (resolved_on =
                                    mediated_on, else settled_on)
    Case lists are events: a covered period without a case has 0 debtors and 0 THB reduced; the
    share is null without a case (no division by zero).
-#}
with

spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'moi.informal_debt_cases'

),

cases as (

    select * from {{ ref('fct_informal_debt_cases') }}

),

registered as (

    select
        cases.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'cases.registered_on') }} as period_start,
        count(distinct cases.debtor_key) as debtors,
        count(*) as cases_registered,
        count(*) filter (where not cases.is_cancelled) as cases_open_or_resolved,
        count(*) filter (where cases.is_mediated_or_settled) as cases_mediated_or_settled
    from cases
    cross join {{ period_types() }}
    group by 1, 2, 3

),

resolved as (

    select
        cases.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'cases.resolved_on') }} as period_start,
        {{ exact_sum('cases.debt_reduced_thb') }} as debt_reduced_thb,
        count(*) as cases_resolved
    from cases
    cross join {{ period_types() }}
    where cases.resolved_on is not null
    group by 1, 2, 3

),

measured as (

    select
        spine.*,
        registered.* exclude (province_iso, period_type, period_start),
        resolved.* exclude (province_iso, period_type, period_start)
    from spine
    left join registered using (province_iso, period_type, period_start)
    left join resolved using (province_iso, period_type, period_start)

)

select
    {{ spine_columns('measured') }},
    'debt_debtors_registered' as kpi_code,
    cast(coalesce(debtors, 0) as double) as numerator,
    cast(null as double) as denominator,
    cast(coalesce(debtors, 0) as double) as value,
    coalesce(cases_registered, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'debt_mediated_or_settled_pct' as kpi_code,
    cast(coalesce(cases_mediated_or_settled, 0) as double) as numerator,
    cast(coalesce(cases_open_or_resolved, 0) as double) as denominator,
    {{ safe_ratio('cases_mediated_or_settled', 'cases_open_or_resolved', 100) }} as value,
    coalesce(cases_registered, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'debt_reduced_thb' as kpi_code,
    coalesce(debt_reduced_thb, 0) as numerator,
    cast(null as double) as denominator,
    coalesce(debt_reduced_thb, 0) as value,
    coalesce(cases_resolved, 0) as observation_count
from measured
