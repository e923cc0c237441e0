-- 77 provinces, exactly the five pilot provinces with their agendas.
select 'province count' as problem from {{ ref('dim_province') }} having count(*) <> 77
union all
select 'pilots' from {{ ref('dim_province') }}
having string_agg(province_iso || ':' || pilot_agenda_code, ',' order by province_iso) filter (where is_pilot)
    <> 'TH-31:informal_debt,TH-34:border_economy,TH-40:digital_government,TH-57:clean_air,TH-76:zero_waste'
