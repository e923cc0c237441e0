{#-
    Ubon Ratchathani border-economy KPIs (every province with checkpoints):
      border_trade_value_thb       exports + imports (transit excluded)
      border_trade_yoy_growth_pct  vs the same period one year earlier (like-for-like when the period
                                   is still running); null when last year had no
                                   data or no trade (no division by zero)
      border_trade_balance_thb     exports − imports
    Daily reports: a covered period without rows is "no data" (null).
-#}
with

spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'customs.border_trade_daily'

),

trade as (

    select * from {{ ref('fct_border_trade_daily') }}

),

by_period as (

    select
        trade.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'trade.trade_date') }} as period_start,
        coalesce({{ exact_sum('case when trade.is_border_trade then trade.value_thb end') }}, 0) as trade_value_thb,
        coalesce({{ exact_sum('trade.balance_contribution_thb') }}, 0) as balance_thb,
        count(*) as reports
    from trade
    cross join {{ period_types() }}
    group by 1, 2, 3

),

last_year as (

    -- the same period one year earlier, cut like-for-like at the source's coverage end; null unless
    -- the province has data from the first day of last year's period, or when it had no report
    select
        spine.province_iso,
        spine.period_type,
        spine.period_start,
        case when count(trade.trade_date) > 0
            then coalesce({{ exact_sum('case when trade.is_border_trade then trade.value_thb end') }}, 0) end as trade_value_thb
    from spine
    left join trade
        on trade.province_iso = spine.province_iso
        and trade.trade_date between cast(spine.period_start - interval 1 year as date)
            and cast(spine.period_end - interval 1 year as date)
        and trade.trade_date <= cast(spine.coverage_end - interval 1 year as date)
    where cast(spine.period_start - interval 1 year as date) >= spine.coverage_start
    group by 1, 2, 3

),

measured as (

    select spine.*, by_period.* exclude (province_iso, period_type, period_start)
    from spine
    left join by_period using (province_iso, period_type, period_start)

)

select
    {{ spine_columns('measured') }},
    'border_trade_value_thb' as kpi_code,
    measured.trade_value_thb as numerator,
    cast(null as double) as denominator,
    measured.trade_value_thb as value,
    coalesce(measured.reports, 0) as observation_count
from measured

union all

select
    {{ spine_columns('measured') }},
    'border_trade_yoy_growth_pct' as kpi_code,
    measured.trade_value_thb - last_year.trade_value_thb as numerator,
    last_year.trade_value_thb as denominator,
    {{ safe_ratio('measured.trade_value_thb - last_year.trade_value_thb', 'last_year.trade_value_thb', 100) }} as value,
    coalesce(measured.reports, 0) as observation_count
from measured
left join last_year
    on last_year.province_iso = measured.province_iso
    and last_year.period_type = measured.period_type
    and last_year.period_start = measured.period_start

union all

select
    {{ spine_columns('measured') }},
    'border_trade_balance_thb' as kpi_code,
    measured.balance_thb as numerator,
    cast(null as double) as denominator,
    measured.balance_thb as value,
    coalesce(measured.reports, 0) as observation_count
from measured
