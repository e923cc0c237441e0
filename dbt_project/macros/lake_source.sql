{#-
    lake_source(source_name, table_name): the relation of a lake source (bronze or ledger), or an
    empty relation with the source's declared columns when no file has landed yet.

    DuckDB's read_parquet fails on a glob that matches nothing, so a fresh lake (or a dataset not
    yet published) would fail every model downstream. At execution time this macro looks for the
    files behind the source's dbt-duckdb external_location with DuckDB's glob() and, when there is
    none, selects typed-less NULLs named after the source's yml columns `where false`; staging
    models cast every column, so their types do not change. In unit tests dbt replaces source()
    with a fixture CTE: that is returned untouched.

    Sources whose meta names `committed_by` (a ledger folder, e.g. `<lake>/ledger/pcd/air_quality_hourly`)
    only show committed rows: a bronze or quarantine file is part of the lake once its batch has a
    ledger file (`<batch id>.parquet`, or `_replay/<batch id>.parquet` for a replay) and until then
    it may be a crash's leftover that the next ingestion run deletes. Every row carries its file's
    batch id in `_batch_id`, so rows are kept when `_batch_id` is a ledger file's name. It is a
    runtime join (the views stay correct as batches commit), read from file names only, as
    recovery reads them (gdx/ingest/recovery.py).
-#}
{% macro lake_source(source_name, table_name) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- set rendered = rel | string -%}
    {%- if not execute or 'read_parquet(' not in rendered -%}
        {{ return(rel) }}
    {%- endif -%}
    {%- set pattern = modules.re.search("read_parquet\(\s*'([^']+)'", rendered) -%}
    {%- if pattern is none -%}
        {{ return(rel) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern.group(1) ~ "')").columns[0].values()[0] -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name) | selectattr('name', 'equalto', table_name) | first -%}
    {%- if found > 0 -%}
        {%- set meta = (node.config.meta if node and node.config and node.config.meta else node.meta) if node else {} -%}
        {%- if meta and meta.get('committed_by') -%}
            {{ return(committed_rows(rel, meta.get('committed_by'))) }}
        {%- endif -%}
        {{ return(rel) }}
    {%- endif -%}
    {%- set columns = node.columns.keys() | list if node else [] -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error("no file matches " ~ pattern.group(1) ~ " and source " ~ source_name ~ "." ~ table_name ~ " declares no columns to build an empty relation from") }}
    {%- endif -%}
    {{ log("lake_source: nothing landed yet for " ~ source_name ~ "." ~ table_name ~ " (" ~ pattern.group(1) ~ "); using an empty relation", info=true) }}
    {%- set nulls = [] -%}
    {%- for column in columns -%}
        {%- do nulls.append('null as ' ~ adapter.quote(column)) -%}
    {%- endfor -%}
    {{ return('(select ' ~ nulls | join(', ') ~ ' where false)') }}
{%- endmacro %}

{#- The rows of `rel` whose `_batch_id` names a ledger file under `ledger_dir` (see lake_source). -#}
{% macro committed_rows(rel, ledger_dir) -%}
    (select * from {{ rel }} where _batch_id in (
        select regexp_extract(file, '([^/]+)\.parquet$', 1) from glob('{{ ledger_dir }}/*.parquet')
        union all
        select regexp_extract(file, '([^/]+)\.parquet$', 1) from glob('{{ ledger_dir }}/_replay/*.parquet')
    ))
{%- endmacro %}
