-- The ten SKUs with the most GMV in USD over every day in sku_sales (all
-- sellers and countries of their marketplace), for `warehouse report`. Rows
-- without a USD rate count as 0 in the ranking; gmv_usd_complete says so.
{% set top_n = 10 %}

with sales as (
    select * from {{ ref('sku_sales') }}
),

skus as (
    select * from {{ ref('sku') }}
),

per_sku as (
    select
        marketplace_code,
        sku_id,
        sum(gmv_usd) as gmv_usd,
        sum(units_sold) as units_sold,
        count(*) - count(gmv_usd) as rows_without_usd
    from sales
    group by marketplace_code, sku_id
),

ranked as (
    select
        *,
        row_number() over (
            order by coalesce(gmv_usd, 0) desc, marketplace_code asc, sku_id asc
        ) as sku_rank
    from per_sku
),

final as (
    select
        cast(ranked.sku_rank as integer) as sku_rank,
        cast(ranked.marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(ranked.sku_id as {{ text_type() }}) as sku_id,
        cast(skus.sku_name as {{ text_type() }}) as sku_name,
        cast(ranked.gmv_usd as decimal(18, 4)) as gmv_usd,
        ranked.rows_without_usd = 0 as gmv_usd_complete,
        cast(ranked.units_sold as bigint) as units_sold
    from ranked
    left join skus
        on
            ranked.marketplace_code = skus.marketplace_code
            and ranked.sku_id = skus.sku_id
    where ranked.sku_rank <= {{ top_n }}
)

select * from final
