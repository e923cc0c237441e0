{#- Secondary suppression holds in mart_provincial_kpi: in every province × KPI × fiscal year of a
    personal-data KPI whose fiscal-year value is published, the months that are suppressed are
    never exactly one (a published total minus the visible months would reveal it). -#}
with

kpi as (

    select * from {{ ref('mart_provincial_kpi') }} where suppression_threshold is not null

),

published_years as (

    select province_iso, kpi_code, fiscal_year_be from kpi where period_type = 'fiscal_year' and not is_suppressed

),

hidden_months as (

    select province_iso, kpi_code, fiscal_year_be, count(*) filter (where is_suppressed) as hidden
    from kpi
    where period_type = 'month'
    group by 1, 2, 3

)

select hidden_months.*
from hidden_months
inner join published_years using (province_iso, kpi_code, fiscal_year_be)
where hidden_months.hidden = 1
