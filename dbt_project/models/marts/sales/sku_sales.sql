{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=[
            'marketplace_code',
            'country_code',
            'report_date',
            'seller_id',
            'sku_id',
        ],
        on_schema_change='fail',
    )
}}

-- Upsert: for each key, the most recently ingested delivery that contains it
-- wins. Incremental runs read only deliveries of newer loads; keys they do not
-- contain keep their earlier figures.
with deliveries as (
    select * from {{ ref('int_sales_rows_summed_per_delivery') }}
    {% if is_incremental() %}
        where load_id > (
            select coalesce(max(source_load_id), '') from {{ this }}
        )
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by
                marketplace_code, country_code, report_date, seller_id, sku_id
            order by load_id desc, file_modified_at desc, file_name desc
        ) as delivery_rank
    from deliveries
),

final as (
    select
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(country_code as {{ text_type() }}) as country_code,
        report_date,
        cast(seller_id as {{ text_type() }}) as seller_id,
        cast(sku_id as {{ text_type() }}) as sku_id,
        cast(units_sold as bigint) as units_sold,
        cast(gmv as decimal(18, 4)) as gmv,
        cast(currency_code as {{ text_type() }}) as currency_code,
        cast(gmv_usd as decimal(18, 4)) as gmv_usd,
        cast(orders as bigint) as orders,
        cast(page_views as bigint) as page_views,
        cast(discount as decimal(18, 4)) as discount,
        cast(
            {{ sale_status('units_sold') }} as {{ text_type() }}
        ) as sale_status,
        cast(file_name as {{ text_type() }}) as source_file_name,
        cast(file_hash as {{ text_type() }}) as source_file_hash,
        cast(load_id as {{ text_type() }}) as source_load_id
    from ranked
    where delivery_rank = 1
)

select * from final
