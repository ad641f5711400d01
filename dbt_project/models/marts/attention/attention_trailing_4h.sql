{{ config(materialized='view', contract={'enforced': false}) }}

-- Detail views per article over the trailing 4 hours, for BI: as of now
-- (the time the query runs) or, with `--vars '{attention_as_of: ...}'`, as of
-- a fixed UTC time. Counted over whole minutes: [t - 4h, t) where t is the
-- as-of time truncated to the minute. Reads only the pre-aggregated minutes
-- of the window (an index range scan on PostgreSQL).
{% set as_of = var('attention_as_of', none) %}
{% if as_of and not modules.re.fullmatch(
    '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?', as_of | string
) %}
    {{ exceptions.raise_compiler_error(
        "attention_as_of must be a UTC time like 2026-11-03T14:30:00, got " ~ as_of
    ) }}
{% endif %}

with as_of as (
    select
        cast({{ dbt.date_trunc(
            'minute',
            ("cast('" ~ as_of ~ "' as timestamp)") if as_of else utc_now()
        ) }} as timestamp) as window_end
),

bounds as (
    select
        {{ dbt.dateadd('hour', -4, 'window_end') }} as window_start,
        window_end
    from as_of
),

minutes as (
    select minutes.*
    from {{ ref('attention_article_minute') }} as minutes
    inner join bounds
        on
            minutes.minute_start >= bounds.window_start
            and minutes.minute_start < bounds.window_end
),

final as (
    select
        bounds.window_start,
        bounds.window_end,
        minutes.article_id,
        sum(minutes.details_view_count) as details_view_count,
        sum(minutes.transaction_item_count) as transaction_item_count,
        row_number() over (
            order by
                sum(minutes.details_view_count) desc,
                sum(minutes.transaction_item_count) desc,
                minutes.article_id asc
        ) as attention_rank
    from minutes
    cross join bounds
    group by bounds.window_start, bounds.window_end, minutes.article_id
)

select * from final
