-- One row per calendar day from the earliest to the latest day that any
-- web-shop event or marketplace report covers (UTC days). Both lie in the
-- accepted ranges of report_date and occurred_at (rows outside are
-- rejected), so the span never exceeds what day_offsets generates.
{%- set most_days = 100000 %}
{%- if accepted_day_span() > most_days %}
    {{ exceptions.raise_compiler_error(
        "dim_date generates at most " ~ most_days ~ " days, but the accepted ranges"
        ~ " of report_date and occurred_at span " ~ accepted_day_span() ~ " days"
    ) }}
{%- endif %}
with event_days as (
    select
        cast(min(occurred_at) as date) as first_day,
        cast(max(occurred_at) as date) as last_day
    from {{ ref('int_shop_events_deduplicated') }}
),

report_days as (
    select
        min(report_date) as first_day,
        max(report_date) as last_day
    from {{ ref('sku_sales') }}
),

bounds as (
    select
        least(
            coalesce(event_days.first_day, report_days.first_day),
            coalesce(report_days.first_day, event_days.first_day)
        ) as first_day,
        greatest(
            coalesce(event_days.last_day, report_days.last_day),
            coalesce(report_days.last_day, event_days.last_day)
        ) as last_day
    from event_days
    cross join report_days
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

day_offsets as (
    -- up to 100,000 days (274 years), more than the accepted ranges span
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

days as (
    select
        cast(
            {{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_day') }}
            as date
        ) as date_day
    from bounds
    cross join day_offsets
    where
        day_offsets.day_offset
        <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}
),

final as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('date_day') }} as integer) as iso_day_of_week,
        {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from days
)

select * from final
