{#-
    export_parquet(): post-hook of the marts. Copies the model to <GDX_EXPORT_DIR>/<model>.parquet
    so that readers (catalog service, dashboards, `gdx kpi`) never open — and lock — the DuckDB
    file. DuckDB writes to a temporary file and renames it over the old one (USE_TMP_FILE), so a
    reader never sees half a file. Nothing happens when GDX_EXPORT_DIR is unset (a developer's
    plain `dbt build`) or when the model sets `meta: {export: false}` (person-level facts).
-#}
{% macro export_parquet() -%}
    {%- set export_dir = env_var('GDX_EXPORT_DIR', '') -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- if execute and export_dir and meta.get('export', true) -%}
        copy (select * from {{ this }}) to '{{ export_dir.rstrip("/") }}/{{ this.identifier }}.parquet'
            (format parquet, compression zstd, use_tmp_file true)
    {%- endif -%}
{%- endmacro %}
