{#-
    lake_source(source_name, table_name): the relation of a lake source (bronze or ledger), or an
    empty relation with the source's declared columns when no file has landed yet.

    DuckDB's read_parquet fails on a glob that matches nothing, so a fresh lake (or a dataset not
    yet published) would fail every model downstream. At execution time this macro looks for the
    files behind the source's dbt-duckdb external_location with DuckDB's glob() and, when there is
    none, selects typed-less NULLs named after the source's yml columns `where false`; staging
    models cast every column, so their types do not change. In unit tests dbt replaces source()
    with a fixture CTE: that is returned untouched.
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
    {%- if found > 0 -%}
        {{ return(rel) }}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name) | selectattr('name', 'equalto', table_name) | first -%}
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
