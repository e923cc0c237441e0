{#- One row per local administration and month (the current report). Row-level rates are null
    when nothing was generated (no division by zero). -#}
with

reports as (

    select * from {{ ref('int_dla__municipal_waste_monthly') }}

),

final as (

    select
        lao_code,
        lao_name_th,
        lao_type,
        province_iso,
        district_name,
        period_month,
        {{ fiscal_year_be('period_month') }} as fiscal_year_be,
        generated_tonnes,
        collected_tonnes,
        properly_disposed_tonnes,
        recycled_tonnes,
        improperly_disposed_tonnes,
        {{ safe_ratio('properly_disposed_tonnes', 'generated_tonnes', 100) }} as properly_disposed_pct,
        {{ safe_ratio('recycled_tonnes', 'generated_tonnes', 100) }} as recycling_rate_pct,
        _ingested_at as last_ingested_at
    from reports

)

select * from final
