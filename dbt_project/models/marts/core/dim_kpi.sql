with

definitions as (

    select * from {{ ref('kpi_definitions') }}

),

agendas as (

    select * from {{ ref('pilot_agendas') }}

),

final as (

    select
        definitions.kpi_code,
        cast(definitions.display_order as integer) as display_order,
        definitions.kpi_name_th,
        definitions.kpi_name_en,
        definitions.unit,
        definitions.direction,
        definitions.agenda_code,
        agendas.agenda_name_th,
        agendas.agenda_name_en,
        agendas.province_iso as pilot_province_iso,
        definitions.source_datasets,
        definitions.monthly_target_rule,
        definitions.tolerance_abs,
        definitions.description_en
    from definitions
    left join agendas on agendas.agenda_code = definitions.agenda_code

)

select * from final
