{#- What a contract says about the columns of a generated source or staging model, as ONE test:
    required columns are not null, enumerated columns hold only their values (nulls pass, as in
    dbt's accepted_values), and `unique_key` identifies a row. One test node per relation instead
    of one per column keeps `dbt parse` fast at thousands of datasets (bench/scale_dbt.py).
    Failing rows come back with `_failure` naming the broken rule. -#}
{% test contract_columns(model, not_null=[], accepted_values={}, unique_key=[]) %}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append((column ~ '.not_null', adapter.quote(column) ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for v in values -%}
        {%- do listed.append("'" ~ (v | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do rules.append((column ~ '.accepted_values', 'cast(' ~ adapter.quote(column) ~ ' as varchar) not in (' ~ listed | join(', ') ~ ')')) -%}
{%- endfor -%}
select '{{ "rule" }}' as _failure, 0 as n_rows where false
{%- for name, condition in rules %}
union all
select '{{ name }}' as _failure, count(*) as n_rows from {{ model }} where {{ condition }} having count(*) > 0
{%- endfor %}
{%- if unique_key %}
union all
select 'unique_key' as _failure, count(*) as n_rows from (
    select 1 from {{ model }} group by {{ unique_key | join(', ') }} having count(*) > 1
) having count(*) > 0
{%- endif %}
{% endtest %}
