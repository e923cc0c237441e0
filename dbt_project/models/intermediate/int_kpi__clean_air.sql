{#-
    Chiang Rai clean-air KPIs (computed for every province with data):
      pm25_exceedance_station_days  complete station-days with 24-h PM2.5 > 37.5 µg/m³
      pm25_mean_ugm3                mean of the complete station-days' 24-h means
      hotspot_count                 detections (0 in a covered period without any)
      hotspot_change_pct            vs the same period one year earlier (like-for-like when the period is
                                    still running); null without last-year data or hotspots
    Long format: one row per province × KPI × period of int_kpi__spine.
-#}
with

air_spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'pcd.air_quality_hourly'

),

hotspot_spine as (

    select * from {{ ref('int_kpi__spine') }} where contract_id = 'gistda.fire_hotspots'

),

station_days as (

    select * from {{ ref('fct_air_quality_daily') }}

),

hotspot_days as (

    select * from {{ ref('fct_fire_hotspots_daily') }}

),

air_by_period as (

    select
        station_days.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'station_days.measurement_date') }} as period_start,
        count(*) filter (where station_days.is_pm25_complete) as complete_station_days,
        count(*) filter (where station_days.exceeds_pm25_standard) as exceedance_station_days,
        {{ exact_sum('case when station_days.is_pm25_complete then station_days.pm25_24h_mean_ugm3 end') }} as sum_daily_means
    from station_days
    cross join {{ period_types() }}
    group by 1, 2, 3

),

air_kpis as (

    select
        {{ spine_columns('air_spine') }},
        'pm25_exceedance_station_days' as kpi_code,
        cast(air_by_period.exceedance_station_days as double) as numerator,
        cast(air_by_period.complete_station_days as double) as denominator,
        case when coalesce(air_by_period.complete_station_days, 0) > 0
            then cast(air_by_period.exceedance_station_days as double) end as value,
        coalesce(air_by_period.complete_station_days, 0) as observation_count
    from air_spine
    left join air_by_period using (province_iso, period_type, period_start)

    union all

    select
        {{ spine_columns('air_spine') }},
        'pm25_mean_ugm3' as kpi_code,
        air_by_period.sum_daily_means as numerator,
        cast(air_by_period.complete_station_days as double) as denominator,
        {{ safe_ratio('air_by_period.sum_daily_means', 'air_by_period.complete_station_days') }} as value,
        coalesce(air_by_period.complete_station_days, 0) as observation_count
    from air_spine
    left join air_by_period using (province_iso, period_type, period_start)

),

hotspots_by_period as (

    select
        hotspot_days.province_iso,
        period_types.period_type,
        {{ period_start('period_types.period_type', 'hotspot_days.acq_date') }} as period_start,
        sum(hotspot_days.hotspot_count) as hotspots
    from hotspot_days
    cross join {{ period_types() }}
    group by 1, 2, 3

),

hotspots_current as (

    -- a detection list: a covered period without rows had no hotspot
    select
        hotspot_spine.*,
        cast(coalesce(hotspots_by_period.hotspots, 0) as double) as hotspots
    from hotspot_spine
    left join hotspots_by_period using (province_iso, period_type, period_start)

),

hotspots_last_year as (

    -- the same period one year earlier, cut like-for-like at the source's coverage end (a running
    -- month or fiscal year is compared with the same days of last year); null unless the province
    -- has data from the first day of last year's period
    select
        hotspot_spine.province_iso,
        hotspot_spine.period_type,
        hotspot_spine.period_start,
        cast(coalesce(sum(hotspot_days.hotspot_count), 0) as double) as hotspots
    from hotspot_spine
    left join hotspot_days
        on hotspot_days.province_iso = hotspot_spine.province_iso
        and hotspot_days.acq_date between cast(hotspot_spine.period_start - interval 1 year as date)
            and cast(hotspot_spine.period_end - interval 1 year as date)
        and hotspot_days.acq_date <= cast(hotspot_spine.coverage_end - interval 1 year as date)
    where cast(hotspot_spine.period_start - interval 1 year as date) >= hotspot_spine.coverage_start
    group by 1, 2, 3

),

hotspot_kpis as (

    select
        {{ spine_columns('hotspots_current') }},
        'hotspot_count' as kpi_code,
        hotspots_current.hotspots as numerator,
        cast(null as double) as denominator,
        hotspots_current.hotspots as value,
        cast(hotspots_current.hotspots as bigint) as observation_count
    from hotspots_current

    union all

    select
        {{ spine_columns('hotspots_current') }},
        'hotspot_change_pct' as kpi_code,
        hotspots_current.hotspots - hotspots_last_year.hotspots as numerator,
        hotspots_last_year.hotspots as denominator,
        {{ safe_ratio('hotspots_current.hotspots - hotspots_last_year.hotspots', 'hotspots_last_year.hotspots', 100) }} as value,
        cast(hotspots_current.hotspots as bigint) as observation_count
    from hotspots_current
    left join hotspots_last_year using (province_iso, period_type, period_start)

)

select * from air_kpis
union all
select * from hotspot_kpis
