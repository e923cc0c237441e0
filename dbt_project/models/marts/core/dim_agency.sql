with

agencies as (

    select * from {{ ref('ref_agencies') }}

),

datasets as (

    select * from {{ ref('stg_contracts__datasets') }}

),

owned as (

    select
        owner_agency_code as agency_code,
        count(*) as datasets_owned,
        string_agg(contract_id, ',' order by contract_id) as dataset_ids
    from datasets
    group by owner_agency_code

),

final as (

    select
        agencies.code as agency_code,
        agencies.name_th as agency_name_th,
        agencies.name_en as agency_name_en,
        agencies.ministry_th,
        agencies.ministry_en,
        agencies.email,
        agencies.website,
        cast(coalesce(owned.datasets_owned, 0) as integer) as datasets_owned,
        owned.dataset_ids
    from agencies
    left join owned on owned.agency_code = agencies.code

)

select * from final
