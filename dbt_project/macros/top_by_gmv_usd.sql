{#- The `top_n` sellers or SKUs (`entity`: 'seller' or 'sku') with the most GMV in USD
    over all of sku_sales, with their latest name from `names` (marts.seller or
    marts.sku). Rows without a USD rate count as 0 in the ranking, and
    gmv_usd_complete says whether any did; ties go to the lower marketplace, then id.
    The one ranking behind report_top_sellers and report_top_skus. -#}
{% macro top_by_gmv_usd(entity, sales, names, top_n=10) -%}
{%- set id = entity ~ '_id' -%}
with sales as (
    select * from {{ sales }}
),

names as (
    select * from {{ names }}
),

per_key as (
    select
        marketplace_code,
        {{ id }},
        sum(gmv_usd) as gmv_usd,
        sum(units_sold) as units_sold,
        count(*) - count(gmv_usd) as rows_without_usd
    from sales
    group by marketplace_code, {{ id }}
),

ranked as (
    select
        *,
        row_number() over (
            order by coalesce(gmv_usd, 0) desc, marketplace_code asc, {{ id }} asc
        ) as entity_rank
    from per_key
),

final as (
    select
        cast(ranked.entity_rank as integer) as {{ entity }}_rank,
        cast(ranked.marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(ranked.{{ id }} as {{ text_type() }}) as {{ id }},
        cast(names.{{ entity }}_name as {{ text_type() }}) as {{ entity }}_name,
        cast(ranked.gmv_usd as decimal(18, 4)) as gmv_usd,
        ranked.rows_without_usd = 0 as gmv_usd_complete,
        cast(ranked.units_sold as bigint) as units_sold
    from ranked
    left join names
        on
            ranked.marketplace_code = names.marketplace_code
            and ranked.{{ id }} = names.{{ id }}
    where ranked.entity_rank <= {{ top_n }}
)

select * from final
{%- endmacro %}
