{#-
    Which province × period rows each KPI source has: a province appears from the first day it has
    data in the dataset to the dataset's last day (the newest data of any province), for both
    period grains (calendar month, Thai fiscal year). A covered period with no rows is a real
    "no data" (reports) or a real zero (event lists); periods outside coverage have no KPI row.
    A period is complete when it lies entirely inside that coverage.
-#}
with

air as (

    select 'pcd.air_quality_hourly' as contract_id, province_iso, measurement_date as first_date, measurement_date as last_date
    from {{ ref('fct_air_quality_daily') }}

),

hotspots as (

    select 'gistda.fire_hotspots' as contract_id, province_iso, acq_date as first_date, acq_date as last_date
    from {{ ref('fct_fire_hotspots_daily') }}

),

waste as (

    select 'dla.municipal_waste_monthly' as contract_id, province_iso, period_month as first_date, cast(last_day(period_month) as date) as last_date
    from {{ ref('fct_municipal_waste_monthly') }}

),

eservices as (

    select 'dga.eservice_transactions_daily' as contract_id, province_iso, txn_date as first_date, txn_date as last_date
    from {{ ref('fct_eservice_usage_daily') }}

),

debt as (

    select 'moi.informal_debt_cases' as contract_id, province_iso, registered_on as first_date, greatest(registered_on, coalesce(resolved_on, registered_on)) as last_date
    from {{ ref('fct_informal_debt_cases') }}

),

trade as (

    select 'customs.border_trade_daily' as contract_id, province_iso, trade_date as first_date, trade_date as last_date
    from {{ ref('fct_border_trade_daily') }}

),

dated as (

    select * from air
    union all select * from hotspots
    union all select * from waste
    union all select * from eservices
    union all select * from debt
    union all select * from trade

),

province_coverage as (

    select contract_id, province_iso, min(first_date) as coverage_start, max(last_date) as province_last_date
    from dated
    group by contract_id, province_iso

),

dataset_coverage as (

    select contract_id, max(province_last_date) as coverage_end
    from province_coverage
    group by contract_id

),

calendar as (

    select * from {{ ref('dim_date') }}

),

periods as (

    select distinct
        'month' as period_type,
        month_start as period_start,
        month_end as period_end,
        fiscal_year_be,
        month_label_th as period_label_th,
        month_label_en as period_label_en
    from calendar

    union all

    select distinct
        'fiscal_year' as period_type,
        fiscal_year_start as period_start,
        fiscal_year_end as period_end,
        fiscal_year_be,
        'ปีงบประมาณ ' || cast(fiscal_year_be as varchar) as period_label_th,
        'FY' || cast(fiscal_year_be as varchar) as period_label_en
    from calendar

),

final as (

    select
        province_coverage.contract_id,
        province_coverage.province_iso,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        periods.fiscal_year_be,
        periods.period_label_th,
        periods.period_label_en,
        periods.period_start >= province_coverage.coverage_start
            and periods.period_end <= dataset_coverage.coverage_end as is_period_complete,
        province_coverage.coverage_start,
        dataset_coverage.coverage_end
    from province_coverage
    inner join dataset_coverage on dataset_coverage.contract_id = province_coverage.contract_id
    inner join periods
        on periods.period_start <= dataset_coverage.coverage_end
        and periods.period_end >= province_coverage.coverage_start

)

select * from final
