{#-
    dataset_profile(contract_id, source_name, table_name, staging_model, date_column): one row of
    landing statistics of a bronze dataset — rows in the files (replays included), distinct
    events, current rows after dedupe, main-date coverage and newest landing time.
-#}
{% macro dataset_profile(contract_id, source_name, table_name, staging_model, date_column) -%}
    select
        '{{ contract_id }}' as contract_id,
        (select count(*) from {{ lake_source(source_name, table_name) }}) as bronze_rows,
        (select count(distinct _event_id) from {{ lake_source(source_name, table_name) }}) as distinct_events,
        count(*) as current_rows,
        min({{ date_column }}) as data_start_date,
        max({{ date_column }}) as data_end_date,
        min(_ingested_at) as first_ingested_at,
        max(_ingested_at) as newest_ingested_at
    from {{ ref(staging_model) }}
{%- endmacro %}
