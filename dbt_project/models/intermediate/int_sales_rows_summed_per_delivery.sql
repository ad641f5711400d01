{#- indexes (PostgreSQL): the keys sku_sales recomputes, and the rows staged
    since its last build -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['marketplace_code', 'country_code', 'report_date', "
            ~ "'seller_id', 'sku_id']) }}",
            "{{ create_index(['staged_at']) }}",
        ],
    )
}}

-- Accepted rows added up per delivery and key: the contract says rows of one
-- file that share (report_date, seller_id, sku_id) add up. The validation
-- accepted only rows whose key totals lie in the accepted ranges, so these
-- sums fit the marts' columns; gmv_usd comes converted from the validation.
-- Incremental: a delivery is staged in one build, so summing the rows staged
-- since the newest here adds whole deliveries, each once.
with accepted_rows as (
    select * from {{ ref('int_sales_rows_validated') }}
    where
        rejection_reason is null
    {% if is_incremental() %}
            and {{ staged_since_last_build(watermark='staged_at') }}
        {% endif %}
),

summed as (
    select
        marketplace_code,
        country_code,
        report_date,
        seller_id,
        sku_id,
        file_hash,
        file_name,
        file_modified_at,
        load_id,
        max(effective_currency_code) as currency_code,
        sum(units_sold) as units_sold,
        sum(gmv) as gmv,
        {{ sum_usd('gmv_usd', 'gmv') }} as gmv_usd,
        sum(orders) as orders,
        sum(page_views) as page_views,
        sum(discount) as discount,
        count(*) as source_row_count,
        max(staged_at) as staged_at
    from accepted_rows
    group by
        marketplace_code,
        country_code,
        report_date,
        seller_id,
        sku_id,
        file_hash,
        file_name,
        file_modified_at,
        load_id
)

select * from summed
