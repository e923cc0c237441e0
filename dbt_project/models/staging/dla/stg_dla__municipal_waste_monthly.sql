with

source as (

    select * from {{ lake_source('bronze_dla', 'municipal_waste_monthly') }}

),

renamed as (

    select
        cast(lao_code as varchar) as lao_code,
        cast(lao_name_th as varchar) as lao_name_th,
        cast(lao_type as varchar) as lao_type,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(district_name as varchar) as district_name,
        cast(period_month as date) as period_month,
        cast(generated_tonnes as double) as generated_tonnes,
        cast(collected_tonnes as double) as collected_tonnes,
        cast(properly_disposed_tonnes as double) as properly_disposed_tonnes,
        cast(recycled_tonnes as double) as recycled_tonnes,
        cast(improperly_disposed_tonnes as double) as improperly_disposed_tonnes,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['lao_code', 'period_month']) }}

)

select * from deduplicated
