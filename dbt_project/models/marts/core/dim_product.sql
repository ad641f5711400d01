{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['article_id']) }}"],
        **keyed_incremental('article_id'),
    )
}}

-- One row per article the web shop has shown or sold, with the marketplace
-- catalogue's attributes where the article id is a marketplace SKU id.
-- Incremental: the articles that new events mention, and those whose SKU new
-- marketplace loads changed, are recomputed from all their rows.
{%- set incremental_run = is_incremental()
    and relation_has_column(this, 'last_staged_at') %}

with all_events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where article_id is not null
),

all_skus as (
    select * from {{ ref('sku') }}
),

{% if incremental_run -%}
touched_articles as (
    select article_id from all_events
    where {{ staged_since_last_build('staged_at') }}
    union
    select sku_id as article_id from all_skus
    where {{ staged_since_last_build('last_staged_at') }}
),
{%- endif %}

events as (
    select * from all_events
    {% if incremental_run -%}
        where article_id in (select article_id from touched_articles)
    {%- endif %}
),

skus as (
    select
        *,
        row_number() over (
            partition by sku_id order by marketplace_code
        ) as sku_rank
    from all_skus
    {% if incremental_run -%}
        where sku_id in (select article_id from touched_articles)
    {%- endif %}
),

articles as (
    select
        article_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        max(staged_at) as last_staged_at
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
        articles.last_seen_at,
        -- the newest load either side of the row took part in: the watermark
        greatest(
            articles.last_staged_at,
            coalesce(skus.last_staged_at, articles.last_staged_at)
        ) as last_staged_at
    from articles
    left join skus
        on
            articles.article_id = skus.sku_id
            and skus.sku_rank = 1
)

select * from final
