{#-
    contract_catalog_glob(): where `gdx contracts generate` writes each dataset's CKAN package
    dict: <GDX_CONTRACTS_DIR>/_generated/<agency>/<dataset>/catalog.json.
-#}
{% macro contract_catalog_glob() -%}
    {{ env_var('GDX_CONTRACTS_DIR', '../contracts').rstrip('/') }}/_generated/*/*/catalog.json
{%- endmacro %}

{% macro require_files(glob_pattern, hint) -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ glob_pattern ~ "')").columns[0].values()[0] -%}
        {%- if found == 0 -%}
            {{ exceptions.raise_compiler_error("no file matches " ~ glob_pattern ~ ": " ~ hint) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
