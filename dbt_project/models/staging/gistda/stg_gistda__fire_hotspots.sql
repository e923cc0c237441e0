with

source as (

    select * from {{ lake_source('bronze_gistda', 'fire_hotspots') }}

),

renamed as (

    select
        cast(hotspot_id as varchar) as hotspot_id,
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude,
        cast(acquired_at as timestamptz) as acquired_at,
        cast(acq_date_local as date) as acq_date,
        cast(satellite as varchar) as satellite,
        cast(instrument as varchar) as instrument,
        cast(confidence_pct as integer) as confidence_pct,
        cast(confidence_class as varchar) as confidence_class,
        cast(frp as double) as frp_mw,
        cast(brightness as double) as brightness_k,
        cast(daynight as varchar) as daynight,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(land_use as varchar) as land_use,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['hotspot_id']) }}

)

select * from deduplicated
