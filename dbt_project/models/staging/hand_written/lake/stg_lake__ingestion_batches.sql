{#- One row per landed batch from the ingestion ledger. A re-run of the same offsets rewrites the
    same ledger file name, but a copy left under another name must not count twice: the batch is
    identified by its topic, partition and offset range, and the latest run wins. -#}
with

source as (

    select * from {{ lake_source('lake_ops', 'ingestion_ledger') }}

),

renamed as (

    select
        cast(batch_id as varchar) as batch_id,
        cast(contract_id as varchar) as contract_id,
        cast(contract_version as varchar) as contract_version,
        cast(agency as varchar) as agency_code,
        cast(dataset as varchar) as dataset,
        cast(topic as varchar) as kafka_topic,
        cast("partition" as integer) as kafka_partition,
        cast(first_offset as bigint) as first_offset,
        cast(last_offset as bigint) as last_offset,
        cast(rows_in as bigint) as rows_in,
        cast(rows_landed as bigint) as rows_landed,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(gx_success as boolean) as gx_success,
        cast(gx_evaluated_expectations as bigint) as gx_evaluated_expectations,
        cast(gx_successful_expectations as bigint) as gx_successful_expectations,
        cast(started_at as timestamptz) as started_at,
        cast(finished_at as timestamptz) as finished_at,
        cast(duration_s as double) as duration_s,
        cast(bronze_path as varchar) as bronze_path,
        cast(quarantine_path as varchar) as quarantine_path
    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        -- a recreated topic restarts its offsets: its generation (`+g<k>+` in the batch id) keeps them apart
        partition by kafka_topic, regexp_extract(batch_id, '\+g([0-9]+)\+', 1), kafka_partition, first_offset, last_offset
        order by finished_at desc, batch_id desc
    ) = 1

)

select * from deduplicated
