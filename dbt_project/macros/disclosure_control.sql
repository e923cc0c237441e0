{#-
    Statistical disclosure control (SDC) of public figures derived from personal-data datasets.

    Which datasets: contracts whose catalog.json says personal_data = true (Contract.holds_personal_data);
    the threshold t is the contract's disclosure_threshold (customProperty disclosureThreshold,
    default 5), read from stg_contracts__datasets — never a literal in SQL.

    Primary suppression: a cell is suppressed when any of its record counts is small, i.e.
    0 < n < t. The counts of a KPI cell are observation_count (the contributing records) and those
    of value / numerator / denominator that kpi_definitions.count_columns names, plus the
    complement denominator − numerator of a share (38 of 40 cases mediated tells that 2 were not).
    Sums of money are suppressed through the number of records they add up (observation_count).

    Zero is published: a covered period with no record (0 debtors) describes nobody, and a true
    zero of an event list is the information a governor needs; a zero cell is never chosen as a
    complement either (hiding it would protect nothing: every suppressed cell is known to be ≥ 1).

    Secondary (complementary) suppression: where a published total lets a reader recover a
    suppressed cell by subtraction, the next-smallest non-zero cell of the same group is
    suppressed too, so that at least two unknowns remain in every published equation:
      1. months within a fiscal year: the fiscal-year row is the total of its months (per province
         and disclosure_group); when exactly one month is suppressed and the fiscal-year cell is
         published, the smallest other non-zero month is suppressed as well;
      2. fiscal years across provinces: all of a dataset's (province, fiscal year) cells add up to
         the dataset's total (row counts in the quality and catalog marts); when exactly one is
         suppressed, the smallest other non-zero one is suppressed too, and — because its months
         would still add up to it — so is that cell's smallest non-zero month.
    KPIs that share counts (the debtor count and the mediated share both count the cases
    registered in a period) carry the same disclosure_group and are suppressed together, so a
    count hidden in one KPI is never visible in another. The rule does not guarantee a protection
    interval (two hidden cells whose sum is 2 are both 1); thresholds above 5 make that rarer.

    small_cell(n, threshold): true when 0 < n < threshold (null-safe: null is not small).
-#}
{% macro small_cell(count_expr, threshold_expr) -%}
    coalesce(({{ count_expr }}) > 0 and ({{ count_expr }}) < ({{ threshold_expr }}), false)
{%- endmacro %}

{#- suppression_reason(kind, threshold): 'primary' / 'secondary' reason text, Thai then English. -#}
{% macro suppression_reason(kind_expr, threshold_expr) -%}
    case {{ kind_expr }}
        when 'primary' then 'primary: น้อยกว่า ' || cast({{ threshold_expr }} as varchar) || ' ราย / fewer than '
            || cast({{ threshold_expr }} as varchar) || ' records'
        when 'secondary' then 'secondary: ปกปิดเพิ่มเพื่อไม่ให้คำนวณย้อนจากผลรวมได้ / suppressed so that a total cannot reveal a suppressed cell'
    end
{%- endmacro %}

{#- personal_data_thresholds(): per contract id, whether it holds personal data and its threshold. -#}
{% macro personal_data_thresholds() -%}
    (select contract_id, holds_personal_data, disclosure_threshold from {{ ref('stg_contracts__datasets') }})
{%- endmacro %}
