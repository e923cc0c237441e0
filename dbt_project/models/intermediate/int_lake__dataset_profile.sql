{#- Landing statistics per Kafka dataset, read from bronze (raw) and staging (current state). The
    date column is the contract's SLA element (its main date). -#}
{{ dataset_profile('pcd.air_quality_hourly', 'bronze_pcd', 'air_quality_hourly', 'int_pcd__air_quality_hourly', 'measured_date') }}
union all
{{ dataset_profile('gistda.fire_hotspots', 'bronze_gistda', 'fire_hotspots', 'int_gistda__fire_hotspots', 'acq_date') }}
union all
{{ dataset_profile('dla.municipal_waste_monthly', 'bronze_dla', 'municipal_waste_monthly', 'int_dla__municipal_waste_monthly', 'period_month') }}
union all
{{ dataset_profile('dga.eservice_transactions_daily', 'bronze_dga', 'eservice_transactions_daily', 'int_dga__eservice_transactions_daily', 'txn_date') }}
union all
{{ dataset_profile('moi.informal_debt_cases', 'bronze_moi', 'informal_debt_cases', 'int_moi__informal_debt_cases', 'registered_on') }}
union all
{{ dataset_profile('customs.border_trade_daily', 'bronze_customs', 'border_trade_daily', 'int_customs__border_trade_daily', 'trade_date') }}
