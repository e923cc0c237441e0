{#- One row per contract (incl. reference seeds) from the CKAN package dicts that
    `gdx contracts generate` writes; lists are kept as lists. -#}
{{ require_files(contract_catalog_glob(), "run `gdx contracts generate` (or set GDX_CONTRACTS_DIR)") }}

with

source as (

    select * from {{ source('gdx_contracts', 'catalog') }}

),

renamed as (

    select
        contract_id,
        contract_version,
        contract_status,
        agency as agency_code,
        dataset,
        name as ckan_name,
        title as title_th,
        title_en,
        notes,
        owner_org as owner_agency_code,
        owner_org_title as owner_agency_name_th,
        owner_org_title_en as owner_agency_name_en,
        maintainer,
        maintainer_email,
        list_transform(tags, lambda t: t.name) as tags,
        domain,
        kafka_topic,
        coalesce(is_seed, false) as is_seed,
        coalesce(pilot_provinces, []::varchar[]) as pilot_provinces,
        freshness_hours as freshness_sla_hours,
        access_level,
        coalesce(personal_data, false) as holds_personal_data,
        disclosure_threshold,
        data_type,
        objective,
        update_frequency_unit,
        update_frequency_interval,
        geo_coverage,
        data_source,
        data_format,
        data_category,
        data_classification,
        license_id,
        accessible_condition,
        data_language,
        unit_of_measure,
        calculation_method,
        first_year_of_data as first_year_of_data_be,
        last_year_of_data as last_year_of_data_be,
        coalesce(high_value_dataset, false) as is_high_value_dataset,
        coalesce(reference_data, false) as is_reference_data,
        coalesce(official_statistics, false) as is_official_statistics
    from source

)

select * from renamed
