-- FY2567 = 2023-10-01 .. 2024-09-30: 30 September and 1 October fall in different fiscal years.
select * from (
    select date_day, fiscal_year_be, fiscal_year_start, fiscal_month_num,
        case date_day
            when date '2024-09-30' then fiscal_year_be = 2567 and fiscal_year_start = date '2023-10-01' and fiscal_month_num = 12
            when date '2024-10-01' then fiscal_year_be = 2568 and fiscal_year_start = date '2024-10-01' and fiscal_month_num = 1
            when date '2024-01-15' then fiscal_year_be = 2567 and year_be = 2567 and month_abbr_th = 'ม.ค.'
        end as ok
    from {{ ref('dim_date') }}
    where date_day in (date '2024-09-30', date '2024-10-01', date '2024-01-15')
) where not ok
union all
select null, null, null, null, false where (select count(*) from {{ ref('dim_date') }}) <> 5844
