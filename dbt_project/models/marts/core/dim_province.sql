with

provinces as (

    select * from {{ ref('ref_provinces') }}

),

agendas as (

    select * from {{ ref('pilot_agendas') }}

),

final as (

    select
        provinces.iso_3166_2 as province_iso,
        provinces.province_code,
        provinces.name_th as province_name_th,
        provinces.name_en as province_name_en,
        provinces.name_en_variants as province_name_en_variants,
        provinces.region_th,
        provinces.region_en,
        agendas.agenda_code is not null as is_pilot,
        agendas.agenda_code as pilot_agenda_code,
        agendas.agenda_name_th as pilot_agenda_name_th,
        agendas.agenda_name_en as pilot_agenda_name_en
    from provinces
    left join agendas on agendas.province_iso = provinces.iso_3166_2

)

select * from final
