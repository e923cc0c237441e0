with

source as (

    select * from {{ lake_source('bronze_customs', 'border_trade_daily') }}

),

renamed as (

    select
        cast(checkpoint_code as varchar) as checkpoint_code,
        cast(checkpoint_name_th as varchar) as checkpoint_name_th,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(trade_date as date) as trade_date,
        cast(direction as varchar) as direction,
        cast(partner_country as varchar) as partner_country,
        cast(hs_section as integer) as hs_section,
        cast(value_thb as double) as value_thb,
        cast(quantity_tonnes as double) as quantity_tonnes,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['checkpoint_code', 'trade_date', 'direction', 'partner_country', 'hs_section']) }}

)

select * from deduplicated
