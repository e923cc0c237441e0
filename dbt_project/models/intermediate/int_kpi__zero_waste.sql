{#-
    Phetchaburi zero-waste KPIs (every province with reports):
      waste_properly_disposed_pct  properly disposed / generated × 100
      waste_recycling_rate_pct     recycled / generated × 100
      waste_generated_tonnes       generated
    Reports, not events: a covered period without any report is "no data" (null), never 0 t; a
    period where 0 t was generated has null rates (no division by zero).
-#}
with

spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'dla.municipal_waste_monthly'

),

reports as (

    select * from {{ ref('fct_municipal_waste_monthly') }}

),

by_period as (

    select
        reports.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'reports.period_month') }} as period_start,
        {{ exact_sum('reports.generated_tonnes') }} as generated_tonnes,
        {{ exact_sum('reports.properly_disposed_tonnes') }} as properly_disposed_tonnes,
        {{ exact_sum('reports.recycled_tonnes') }} as recycled_tonnes,
        count(*) as reports
    from reports
    cross join {{ period_types() }}
    group by 1, 2, 3

),

measured as (

    select spine.*, by_period.* exclude (province_iso, period_type, period_start)
    from spine
    left join by_period using (province_iso, period_type, period_start)

)

select
    {{ spine_columns('measured') }},
    'waste_properly_disposed_pct' as kpi_code,
    properly_disposed_tonnes as numerator,
    generated_tonnes as denominator,
    {{ safe_ratio('properly_disposed_tonnes', 'generated_tonnes', 100) }} as value,
    coalesce(reports, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'waste_recycling_rate_pct' as kpi_code,
    recycled_tonnes as numerator,
    generated_tonnes as denominator,
    {{ safe_ratio('recycled_tonnes', 'generated_tonnes', 100) }} as value,
    coalesce(reports, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'waste_generated_tonnes' as kpi_code,
    generated_tonnes as numerator,
    cast(null as double) as denominator,
    generated_tonnes as value,
    coalesce(reports, 0) as observation_count
from measured
