-- Detail views and order lines of all articles together per 4-hour window,
-- every window from the first to the last one with events, zeros included.
with article_windows as (
    select * from {{ ref('attention_article_window') }}
),

per_window as (
    select
        window_start,
        sum(details_view_count) as details_view_count,
        sum(transaction_item_count) as transaction_item_count
    from article_windows
    group by window_start
),

bounds as (
    select
        min(window_start) as first_window,
        max(window_start) as last_window
    from per_window
),

window_span as (
    select
        first_window,
        {{ dbt.datediff('first_window', 'last_window', 'hour') }} / 4  -- noqa: LT05
            as last_window_number
    from bounds
),

window_numbers as (
    -- up to 10,000 windows (4.5 years)
    select
        ones.digit + 10 * tens.digit + 100 * hundreds.digit
        + 1000 * thousands.digit as window_number
    from {{ ref('digits') }} as ones
    cross join {{ ref('digits') }} as tens
    cross join {{ ref('digits') }} as hundreds
    cross join {{ ref('digits') }} as thousands
),

all_windows as (
    select
        cast(
            {{ dbt.dateadd(
                'hour', 'window_numbers.window_number * 4', 'window_span.first_window'
            ) }} as timestamp
        ) as window_start
    from window_span
    cross join window_numbers
    where window_numbers.window_number <= window_span.last_window_number
),

final as (
    select
        all_windows.window_start,
        cast({{ dbt.dateadd('hour', 4, 'all_windows.window_start') }} as timestamp)
            as window_end,
        cast(coalesce(per_window.details_view_count, 0) as bigint)
            as details_view_count,
        cast(coalesce(per_window.transaction_item_count, 0) as bigint)
            as transaction_item_count
    from all_windows
    left join per_window on all_windows.window_start = per_window.window_start
)

select * from final
