{#- Hourly air quality with units in the names (pm25_ugm3 …) and the Asia/Bangkok station-day and hour each reading counts for (measured_date, measured_hour).
    Typed, deduplicated rows come from the generated staging model. -#}
select
    station_id,
    station_name_th,
    province_code as province_iso,
    province_raw,
    measured_at,
    cast({{ bangkok('measured_at') }} as date) as measured_date,
    cast(extract(hour from {{ bangkok('measured_at') }}) as integer) as measured_hour,
    pm25 as pm25_ugm3,
    pm10 as pm10_ugm3,
    o3 as o3_ppb,
    co as co_ppm,
    no2 as no2_ppb,
    so2 as so2_ppb,
    cast(aqi as integer) as aqi,
    {{ lake_lineage_columns() }}
from {{ ref('stg_pcd__air_quality_hourly') }}
