with

source as (

    select * from {{ lake_source('bronze_pcd', 'air_quality_hourly') }}

),

renamed as (

    select
        cast(station_id as varchar) as station_id,
        cast(station_name_th as varchar) as station_name_th,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(measured_at as timestamptz) as measured_at,
        cast({{ bangkok('cast(measured_at as timestamptz)') }} as date) as measured_date,
        cast(extract(hour from {{ bangkok('cast(measured_at as timestamptz)') }}) as integer) as measured_hour,
        cast(pm25 as double) as pm25_ugm3,
        cast(pm10 as double) as pm10_ugm3,
        cast(o3 as double) as o3_ppb,
        cast(co as double) as co_ppm,
        cast(no2 as double) as no2_ppb,
        cast(so2 as double) as so2_ppb,
        cast(aqi as integer) as aqi,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['station_id', 'measured_at']) }}

)

select * from deduplicated
