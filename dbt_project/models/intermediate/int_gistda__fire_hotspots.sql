{#- Fire hotspots with units in the names (frp_mw, brightness_k), the Bangkok acquisition date as acq_date and the confidence as integer.
    Typed, deduplicated rows come from the generated staging model. -#}
select
    hotspot_id,
    latitude,
    longitude,
    acquired_at,
    acq_date_local as acq_date,
    satellite,
    instrument,
    cast(confidence_pct as integer) as confidence_pct,
    confidence_class,
    frp as frp_mw,
    brightness as brightness_k,
    daynight,
    province_code as province_iso,
    province_raw,
    land_use,
    {{ lake_lineage_columns() }}
from {{ ref('stg_gistda__fire_hotspots') }}
