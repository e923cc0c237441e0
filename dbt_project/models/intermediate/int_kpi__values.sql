{#- Every KPI value of every province and period, long format, before targets and labels. -#}
{%- set agenda_models = ['int_kpi__clean_air', 'int_kpi__zero_waste', 'int_kpi__digital_government', 'int_kpi__informal_debt', 'int_kpi__border_economy'] %}
{% for model in agenda_models %}
select
    province_iso,
    kpi_code,
    period_type,
    period_start,
    period_end,
    fiscal_year_be,
    period_label_th,
    period_label_en,
    is_period_complete,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value,
    cast(observation_count as bigint) as observation_count
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
