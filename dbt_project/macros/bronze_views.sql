{#-
    create_bronze_views(): run by `on-run-start` (dbt_project.yml). Creates, for every generated
    bronze source the selected nodes read, the view its `{{ source('bronze_<agency>', '<dataset>') }}`
    compiles to (`<schema bronze_<agency>>.<dataset>` in the warehouse):

    - the dataset's committed rows: `read_parquet('<lake>/bronze/<agency>/<dataset>/v<major>/*/*.parquet',
      hive_partitioning, union_by_name)` keeping rows whose `_batch_id` has a ledger file
      (`<lake>/ledger/<agency>/<dataset>/<batch id>.parquet` or `_replay/<batch id>.parquet`; until
      then a bronze file may be a crash's leftover that the next ingestion run deletes). It is a
      runtime join (macro committed_rows), so the view stays correct as batches commit;
    - before the first landing (DuckDB's read_parquet fails on a glob that matches nothing): an
      empty relation of typed-less NULLs named after `meta.columns`; the staging models cast every
      column, so their types do not change.

    Why here and not in each staging model: a model that calls a project macro cannot use dbt's
    static parser and is rendered with Jinja at parse time (and source YAML holding `env_var` is
    rendered too). Generated staging models are plain `select … from {{ source() }}` instead, and
    this one hook does the lake-dependent part at run time — `dbt parse` at 8,000 datasets
    (bench/scale_dbt.py) went from ~50 ms to a few ms per dataset.

    The landed / not-landed decision is taken when a run starts, as macro lake_source took it when
    a staging view was built: a dataset's first landing is picked up by the next build that selects
    it (the ingestion DAG selects `source:bronze_<agency>.<dataset>+`).

    One glob() lists every landed bronze file (`<agency>/<dataset>/v<major>/<partition>/<file>`),
    so the hook costs one listing, not one per source. Sources are the generated ones only:
    `meta.bronze_major` marks them (hand-written lake sources keep macro lake_source).
-#}
{% macro create_bronze_views() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set wanted = [] -%}
    {%- set seen = {} -%}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- set upstream = [unique_id] if unique_id.startswith('source.') else (node.depends_on.nodes if node else []) -%}
        {%- for source_id in upstream if source_id.startswith('source.') and source_id not in seen -%}
            {%- do seen.update({source_id: true}) -%}
            {%- set source_node = graph.sources.get(source_id) -%}
            {%- if source_node and source_node.meta.get('bronze_major') is not none -%}
                {%- do wanted.append(source_node) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if wanted | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set lake = env_var('GDX_LAKE_ROOT', '../lake') -%}
    {%- set listing -%}
        select distinct regexp_extract(file, '/bronze/([^/]+/[^/]+/v[0-9]+)/[^/]+/[^/]+\.parquet$', 1) as dir
        from glob('{{ lake }}/bronze/*/*/*/*/*.parquet')
    {%- endset -%}
    {%- set landed = run_query(listing).columns[0].values() -%}
    {%- set statements = [] -%}
    {%- for source_node in wanted -%}
        {%- set agency = source_node.source_name[('bronze_' | length):] -%}
        {%- set dir = agency ~ '/' ~ source_node.name ~ '/v' ~ source_node.meta['bronze_major'] -%}
        {%- if dir in landed -%}
            {%- set rel = "read_parquet('" ~ lake ~ "/bronze/" ~ dir ~ "/*/*.parquet', hive_partitioning = true, union_by_name = true)" -%}
            {%- set body = committed_rows(rel, lake ~ '/ledger/' ~ agency ~ '/' ~ source_node.name) -%}
        {%- else -%}
            {%- set columns = source_node.meta.get('columns', '').split(',') | reject('equalto', '') | list -%}
            {%- if columns | length == 0 -%}
                {{ exceptions.raise_compiler_error("nothing landed for " ~ source_node.source_name ~ "." ~ source_node.name ~ " and its meta.columns is empty: no empty relation can be built") }}
            {%- endif -%}
            {{ log("create_bronze_views: nothing landed yet for " ~ source_node.source_name ~ "." ~ source_node.name ~ " (" ~ lake ~ "/bronze/" ~ dir ~ "); using an empty relation", info=true) }}
            {%- set nulls = [] -%}
            {%- for column in columns -%}
                {%- do nulls.append('null as ' ~ adapter.quote(column)) -%}
            {%- endfor -%}
            {%- set body = '(select ' ~ nulls | join(', ') ~ ' where false)' -%}
        {%- endif -%}
        {%- set schema = adapter.quote(source_node.database) ~ '.' ~ adapter.quote(source_node.schema) -%}
        {%- if schema not in seen -%}
            {%- do seen.update({schema: true}) -%}
            {%- do statements.append('create schema if not exists ' ~ schema) -%}
        {%- endif -%}
        {%- do statements.append('create or replace view ' ~ schema ~ '.' ~ adapter.quote(source_node.identifier) ~ ' as select * from ' ~ body) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n') ~ ';') }}
{%- endmacro %}
