with

transactions as (

    select * from {{ ref('int_dga__eservice_transactions_daily') }}

),

final as (

    select
        service_code,
        channel,
        province_iso,
        txn_date,
        service_name_th,
        agency_code,
        is_fully_digital,
        transactions,
        completed_transactions,
        case when is_fully_digital then transactions else 0 end as fully_digital_transactions,
        {{ safe_ratio('completed_transactions', 'transactions', 100) }} as completion_rate_pct,
        _ingested_at as last_ingested_at
    from transactions

)

select * from final
