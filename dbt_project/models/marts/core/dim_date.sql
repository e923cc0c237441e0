{#- Calendar 2015-01-01 .. 2030-12-31 with Buddhist-Era years, Thai month names and the Thai
    fiscal year (1 October – 30 September; FY2567 = 2023-10-01 .. 2024-09-30). -#}
with

days as (

    select cast(range as date) as date_day
    from range(date '2015-01-01', date '2031-01-01', interval 1 day)

),

months as (

    select * from (values
        (1, 'มกราคม', 'ม.ค.', 'January', 'Jan'),
        (2, 'กุมภาพันธ์', 'ก.พ.', 'February', 'Feb'),
        (3, 'มีนาคม', 'มี.ค.', 'March', 'Mar'),
        (4, 'เมษายน', 'เม.ย.', 'April', 'Apr'),
        (5, 'พฤษภาคม', 'พ.ค.', 'May', 'May'),
        (6, 'มิถุนายน', 'มิ.ย.', 'June', 'Jun'),
        (7, 'กรกฎาคม', 'ก.ค.', 'July', 'Jul'),
        (8, 'สิงหาคม', 'ส.ค.', 'August', 'Aug'),
        (9, 'กันยายน', 'ก.ย.', 'September', 'Sep'),
        (10, 'ตุลาคม', 'ต.ค.', 'October', 'Oct'),
        (11, 'พฤศจิกายน', 'พ.ย.', 'November', 'Nov'),
        (12, 'ธันวาคม', 'ธ.ค.', 'December', 'Dec')
    ) as t (month_num, month_name_th, month_abbr_th, month_name_en, month_abbr_en)

),

weekdays as (

    select * from (values
        (1, 'จันทร์', 'Monday'),
        (2, 'อังคาร', 'Tuesday'),
        (3, 'พุธ', 'Wednesday'),
        (4, 'พฤหัสบดี', 'Thursday'),
        (5, 'ศุกร์', 'Friday'),
        (6, 'เสาร์', 'Saturday'),
        (7, 'อาทิตย์', 'Sunday')
    ) as t (day_of_week_iso, day_name_th, day_name_en)

),

final as (

    select
        days.date_day,
        cast(year(days.date_day) as integer) as year_ce,
        cast(year(days.date_day) + 543 as integer) as year_be,
        cast(quarter(days.date_day) as integer) as quarter_num,
        cast(month(days.date_day) as integer) as month_num,
        months.month_name_th,
        months.month_abbr_th,
        months.month_name_en,
        months.month_abbr_en,
        cast(day(days.date_day) as integer) as day_of_month,
        cast(isodow(days.date_day) as integer) as day_of_week_iso,
        weekdays.day_name_th,
        weekdays.day_name_en,
        isodow(days.date_day) in (6, 7) as is_weekend,
        cast(date_trunc('month', days.date_day) as date) as month_start,
        cast(last_day(days.date_day) as date) as month_end,
        months.month_abbr_th || ' ' || cast(year(days.date_day) + 543 as varchar) as month_label_th,
        months.month_abbr_en || ' ' || cast(year(days.date_day) as varchar) as month_label_en,
        {{ fiscal_year_be('days.date_day') }} as fiscal_year_be,
        {{ fiscal_year_start('days.date_day') }} as fiscal_year_start,
        cast({{ fiscal_year_start('days.date_day') }} + interval 1 year - interval 1 day as date) as fiscal_year_end,
        cast((month(days.date_day) + 2) % 12 + 1 as integer) as fiscal_month_num,
        cast(((month(days.date_day) + 2) % 12) // 3 + 1 as integer) as fiscal_quarter_num
    from days
    inner join months on months.month_num = month(days.date_day)
    inner join weekdays on weekdays.day_of_week_iso = isodow(days.date_day)

)

select * from final
