{{
    config(
        on_schema_change='append_new_columns',
        **keyed_incremental([
            'marketplace_code',
            'country_code',
            'report_date',
            'seller_id',
            'sku_id',
        ], partition_by='report_date'),
    )
}}

-- Upsert: for each key, the most recently ingested delivery that contains it
-- wins (the latest ingest run's load; within one, the file modified last).
-- Incremental runs recompute the keys that newly staged deliveries contain,
-- from all of their deliveries, so the winner is the same as in a full build
-- whatever order loads complete in; other keys keep their figures.
with summed_deliveries as {{ not_materialized() }} (
    select * from {{ ref('int_sales_rows_summed_per_delivery') }}
),

deliveries as (
    {{ rows_of_keys_touched_by_new_loads(
        'summed_deliveries',
        ['marketplace_code', 'country_code', 'report_date', 'seller_id', 'sku_id']
    ) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by
                marketplace_code, country_code, report_date, seller_id, sku_id
            order by {{ newest_delivery_first() }}
        ) as delivery_rank,
        max(staged_at) over (
            partition by
                marketplace_code, country_code, report_date, seller_id, sku_id
        ) as key_last_staged_at
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
        cast(load_id as {{ text_type() }}) as source_load_id,
        key_last_staged_at as last_staged_at
    from ranked
    where delivery_rank = 1
)

select * from final
