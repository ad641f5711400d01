-- One row per article the web shop has shown or sold, with the marketplace
-- catalogue's attributes where the article id is a marketplace SKU id.
with events as (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where article_id is not null
),

skus as (
    select
        *,
        row_number() over (
            partition by sku_id order by marketplace_code
        ) as sku_rank
    from {{ ref('sku') }}
),

articles as (
    select
        article_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from events
    group by article_id
),

final as (
    select
        cast(articles.article_id as {{ text_type() }}) as article_id,
        cast(skus.marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(skus.sku_name as {{ text_type() }}) as article_name,
        cast(skus.brand as {{ text_type() }}) as brand,
        cast(skus.category as {{ text_type() }}) as category,
        skus.sku_id is not null as is_marketplace_sku,
        articles.first_seen_at,
        articles.last_seen_at
    from articles
    left join skus
        on
            articles.article_id = skus.sku_id
            and skus.sku_rank = 1
)

select * from final
