with

trade as (

    select * from {{ ref('int_customs__border_trade_daily') }}

),

final as (

    select
        checkpoint_code,
        trade_date,
        direction,
        partner_country,
        hs_section,
        checkpoint_name_th,
        province_iso,
        value_thb,
        quantity_tonnes,
        direction in ('export', 'import') as is_border_trade,
        case direction when 'export' then value_thb when 'import' then -value_thb else 0 end as balance_contribution_thb,
        _ingested_at as last_ingested_at
    from trade

)

select * from final
