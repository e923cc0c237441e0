with

source as (

    select * from {{ lake_source('bronze_dga', 'eservice_transactions_daily') }}

),

renamed as (

    select
        cast(service_code as varchar) as service_code,
        cast(service_name_th as varchar) as service_name_th,
        cast(agency_code as varchar) as agency_code,
        cast(channel as varchar) as channel,
        cast(province_code as varchar) as province_iso,
        cast(province_raw as varchar) as province_raw,
        cast(txn_date as date) as txn_date,
        cast(transactions as bigint) as transactions,
        cast(fully_digital as boolean) as is_fully_digital,
        cast(completed_transactions as bigint) as completed_transactions,
        {{ lake_metadata_columns() }}
    from source

),

deduplicated as (

    {{ current_state('renamed', ['service_code', 'channel', 'province_iso', 'txn_date']) }}

)

select * from deduplicated
