{#- One row per quarantined Kafka record (the latest landing of an offset wins). The contract id is
    read from the topic name gdx.<agency>.<dataset>.v<major>. -#}
with

source as (

    select * from {{ lake_source('lake_ops', 'quarantine') }}

),

renamed as (

    select
        regexp_extract(cast(_kafka_topic as varchar), '^gdx\.([a-z0-9_]+)\.([a-z0-9_]+)\.v[0-9]+$', 1)
            || '.' || regexp_extract(cast(_kafka_topic as varchar), '^gdx\.([a-z0-9_]+)\.([a-z0-9_]+)\.v[0-9]+$', 2) as contract_id,
        cast(rule_id as varchar) as rule_id,
        cast("column" as varchar) as column_name,
        cast(reason as varchar) as reason,
        {#- raw_value is left out on purpose: it is the raw payload (tokenised), not needed for counts -#}
        cast(_event_id as varchar) as _event_id,
        cast(_kafka_topic as varchar) as _kafka_topic,
        cast(_kafka_partition as integer) as _kafka_partition,
        cast(_kafka_offset as bigint) as _kafka_offset,
        cast(_kafka_timestamp as timestamptz) as _kafka_timestamp,
        cast(_batch_id as varchar) as _batch_id,
        cast(_contract_version as varchar) as _contract_version,
        cast(_ingested_at as timestamptz) as _ingested_at
    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        -- a recreated topic restarts its offsets: its generation (`+g<k>+` in the batch id) keeps them apart
        partition by _kafka_topic, regexp_extract(_batch_id, '\+g([0-9]+)\+', 1), _kafka_partition, _kafka_offset, rule_id, column_name
        order by _ingested_at desc
    ) = 1

)

select * from deduplicated
