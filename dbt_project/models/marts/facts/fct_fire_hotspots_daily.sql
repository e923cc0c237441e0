{#-
    Hotspot detections per province, Asia/Bangkok day, satellite, instrument, confidence class and
    land use (null land use = 'unclassified'). Incremental (delete+insert by day): every day that
    received a newly landed detection is recomputed whole, so a revised detection that moves to
    another group leaves no stale row behind.
-#}
{{
    config(
        materialized='incremental',
        unique_key='acq_date',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

with

hotspots as (

    select * from {{ ref('int_gistda__fire_hotspots') }}

),

{% if is_incremental() %}
changed_days as (

    select distinct acq_date
    from hotspots
    where _ingested_at > (select coalesce(max(last_ingested_at), '1900-01-01 00:00:00+00'::timestamptz) from {{ this }})

),
{% endif %}

final as (

    select
        province_iso,
        acq_date,
        satellite,
        instrument,
        confidence_class,
        coalesce(land_use, 'unclassified') as land_use,
        cast(count(*) as integer) as hotspot_count,
        cast(count(*) filter (where daynight = 'D') as integer) as daytime_count,
        cast(count(*) filter (where daynight = 'N') as integer) as nighttime_count,
        {{ exact_sum('frp_mw') }} as frp_sum_mw,
        max(frp_mw) as frp_max_mw,
        max(_ingested_at) as last_ingested_at
    from hotspots
    {% if is_incremental() %}
    where acq_date in (select acq_date from changed_days)
    {% endif %}
    group by province_iso, acq_date, satellite, instrument, confidence_class, coalesce(land_use, 'unclassified')

)

select * from final
