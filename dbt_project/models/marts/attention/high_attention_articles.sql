-- The 100 most-viewed articles of every 4-hour window: ranked by detail
-- views, ties broken by order lines (more first), then by article id.
with article_windows as (
    select * from {{ ref('attention_article_window') }}
),

products as (
    select * from {{ ref('dim_product') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by window_start
            order by
                details_view_count desc,
                transaction_item_count desc,
                article_id asc
        ) as attention_rank
    from article_windows
),

final as (
    select
        ranked.window_start,
        ranked.window_end,
        cast(ranked.attention_rank as bigint) as attention_rank,
        ranked.article_id,
        cast(products.article_name as {{ text_type() }}) as article_name,
        ranked.details_view_count,
        ranked.transaction_item_count,
        cast({{ safe_ratio(
            'ranked.details_view_count', 'ranked.transaction_item_count'
        ) }} as decimal(18, 6)) as views_to_purchase_ratio
    from ranked
    left join products on ranked.article_id = products.article_id
    where ranked.attention_rank <= {{ var('attention_top_n', 100) }}
)

select * from final
