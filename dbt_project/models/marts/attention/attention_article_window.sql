-- Detail views and order lines per article and 4-hour window (aligned to
-- 00:00, 04:00, ... UTC), from the per-minute pre-aggregate.
with minutes as (
    select * from {{ ref('attention_article_minute') }}
),

windowed as (
    select
        article_id,
        {{ window_start('minute_start', 4) }} as window_start,
        details_view_count,
        transaction_item_count
    from minutes
),

final as (
    select
        cast(article_id as {{ text_type() }}) as article_id,
        cast(window_start as timestamp) as window_start,
        cast({{ dbt.dateadd('hour', 4, 'window_start') }} as timestamp)
            as window_end,
        cast(sum(details_view_count) as bigint) as details_view_count,
        cast(sum(transaction_item_count) as bigint) as transaction_item_count
    from windowed
    group by article_id, window_start
)

select * from final
