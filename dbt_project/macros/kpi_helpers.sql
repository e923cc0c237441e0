{#- Thai fiscal year in Buddhist Era: FY2567 = 2023-10-01 .. 2024-09-30. -#}
{% macro fiscal_year_be(date_expr) -%}
    (extract(year from {{ date_expr }}) + case when extract(month from {{ date_expr }}) >= 10 then 1 else 0 end + 543)::integer
{%- endmacro %}

{#- First day of the fiscal year a date falls in (1 October). -#}
{% macro fiscal_year_start(date_expr) -%}
    make_date(({{ fiscal_year_be(date_expr) }} - 544)::bigint, 10, 1)
{%- endmacro %}

{#- numerator / denominator * scale, null when the denominator is null or 0 (never an error). -#}
{% macro safe_ratio(numerator, denominator, scale=1) -%}
    case when coalesce({{ denominator }}, 0) = 0 then null else ({{ numerator }})::double / ({{ denominator }})::double * {{ scale }} end
{%- endmacro %}

{#- Local (Asia/Bangkok) wall-clock timestamp of a TIMESTAMPTZ, whatever the session TimeZone. -#}
{% macro bangkok(ts_expr) -%}
    timezone('Asia/Bangkok', {{ ts_expr }})
{%- endmacro %}

{#- The lake metadata and dedup columns of a generated staging model, passed through unchanged by the
    int_<agency>__<dataset> models (lineage back to the Kafka record and the ingestion batch). -#}
{% macro lake_lineage_columns() -%}
    _event_id,
    _kafka_topic,
    _kafka_partition,
    _kafka_offset,
    _kafka_timestamp,
    _batch_id,
    _contract_version,
    _ingested_at,
    ingest_date,
    _first_published_at,
    _first_offset
{%- endmacro %}

{#- The two period grains of the KPI mart, to cross join with dated rows. -#}
{% macro period_types() -%}
    (values ('month'), ('fiscal_year')) as period_types (period_type)
{%- endmacro %}

{#- Start of the period of type `period_type_expr` ('month' | 'fiscal_year') a date falls in. -#}
{% macro period_start(period_type_expr, date_expr) -%}
    case {{ period_type_expr }} when 'month' then cast(date_trunc('month', {{ date_expr }}) as date) else {{ fiscal_year_start(date_expr) }} end
{%- endmacro %}

{#- The spine columns every KPI row carries (from int_kpi__spine aliased `alias`). -#}
{% macro spine_columns(alias) -%}
        {{ alias }}.province_iso,
        {{ alias }}.period_type,
        {{ alias }}.period_start,
        {{ alias }}.period_end,
        {{ alias }}.fiscal_year_be,
        {{ alias }}.period_label_th,
        {{ alias }}.period_label_en,
        {{ alias }}.is_period_complete
{%- endmacro %}

{#- Order-independent sum of a DOUBLE column: summed as DECIMAL(38, scale), returned as DOUBLE.
    A float sum depends on row order (which a rebuild or a replay changes); KPIs must not. -#}
{% macro exact_sum(expr, scale=4) -%}
    cast(sum(cast({{ expr }} as decimal(38, {{ scale }}))) as double)
{%- endmacro %}

{#- Order-independent mean of a DOUBLE column (nulls ignored), see exact_sum. -#}
{% macro exact_avg(expr, scale=4) -%}
    cast(sum(cast({{ expr }} as decimal(38, {{ scale }}))) as double) / nullif(count({{ expr }}), 0)
{%- endmacro %}
