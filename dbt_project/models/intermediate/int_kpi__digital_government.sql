{#-
    Khon Kaen smart-province KPIs (every province with data):
      eservice_transactions       transactions started
      eservice_fully_digital_pct  transactions of fully digital services / all × 100
    Daily reports: a covered period without rows is "no data" (null).
-#}
with

spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'dga.eservice_transactions_daily'

),

usage as (

    select * from {{ ref('fct_eservice_usage_daily') }}

),

by_period as (

    select
        usage.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'usage.txn_date') }} as period_start,
        cast(sum(usage.transactions) as double) as transactions,
        cast(sum(usage.fully_digital_transactions) as double) as fully_digital_transactions,
        count(*) as reports
    from usage
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
    'eservice_transactions' as kpi_code,
    transactions as numerator,
    cast(null as double) as denominator,
    transactions as value,
    coalesce(reports, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'eservice_fully_digital_pct' as kpi_code,
    fully_digital_transactions as numerator,
    transactions as denominator,
    {{ safe_ratio('fully_digital_transactions', 'transactions', 100) }} as value,
    coalesce(reports, 0) as observation_count
from measured
