-- The ten sellers with the most GMV in USD over every day in sku_sales (all
-- marketplaces and countries), for `warehouse report`. Rows without a USD
-- rate count as 0 in the ranking; gmv_usd_complete says whether any did.
{% set top_n = 10 %}

with sales as (
    select * from {{ ref('sku_sales') }}
),

sellers as (
    select * from {{ ref('seller') }}
),

per_seller as (
    select
        marketplace_code,
        seller_id,
        sum(gmv_usd) as gmv_usd,
        sum(units_sold) as units_sold,
        count(*) - count(gmv_usd) as rows_without_usd
    from sales
    group by marketplace_code, seller_id
),

ranked as (
    select
        *,
        row_number() over (
            order by coalesce(gmv_usd, 0) desc, marketplace_code asc, seller_id asc
        ) as seller_rank
    from per_seller
),

final as (
    select
        cast(ranked.seller_rank as integer) as seller_rank,
        cast(ranked.marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(ranked.seller_id as {{ text_type() }}) as seller_id,
        cast(sellers.seller_name as {{ text_type() }}) as seller_name,
        cast(ranked.gmv_usd as decimal(18, 4)) as gmv_usd,
        ranked.rows_without_usd = 0 as gmv_usd_complete,
        cast(ranked.units_sold as bigint) as units_sold
    from ranked
    left join sellers
        on
            ranked.marketplace_code = sellers.marketplace_code
            and ranked.seller_id = sellers.seller_id
    where ranked.seller_rank <= {{ top_n }}
)

select * from final
