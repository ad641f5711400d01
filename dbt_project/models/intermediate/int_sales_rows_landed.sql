{#- indexes (PostgreSQL): the watermark filter of the next build and the
    scoped data tests -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['file_hash']) }}",
            "{{ create_index(['staged_at']) }}",
        ],
    )
}}

-- The typed rows of every delivery dlt landed completely, each row once,
-- with the delivery's marketplace, country and load, stamped with when this
-- build took them (staged_at: the watermark every model downstream reads).
-- Incremental: a build takes the deliveries not held yet (a set difference
-- by delivery, see new_completed_deliveries), so each row is typed and
-- stored once, whatever order loads complete in.
{%- set delivery_key = ['file_hash', 'marketplace_code', 'country_code'] %}

with sales_rows as (
    select * from {{ ref('stg_marketplace__sales_rows') }}
),

files as (
    select * from {{ ref('stg_marketplace__files') }}
),

completed_loads as (
    select * from {{ ref('stg_dlt__loads') }}
),

-- a delivery is its bytes for one marketplace and country
new_files as (
    {{ new_completed_deliveries(
        'files',
        'completed_loads',
        ['file_modified_at'],
        delivery_key=delivery_key
    ) }}
),

delivered as (
    select
        sales_rows.*,
        new_files.load_id,
        new_files.marketplace_code,
        new_files.country_code,
        new_files.file_modified_at,
        -- a retried load must not double a row: the delivered file and the
        -- row number are its identity
        row_number() over (
            partition by
                sales_rows.file_hash,
                sales_rows.file_name,
                sales_rows.source_row_number
            order by sales_rows.source_row_number
        ) as copy_number
    from sales_rows
    inner join new_files
        on
            sales_rows.file_hash = new_files.file_hash
            and sales_rows.file_name = new_files.file_name
    where {{ new_delivery_file_filter(
        'sales_rows.file_hash',
        ref('stg_marketplace__files'),
        ref('stg_dlt__loads'),
        delivery_key=delivery_key
    ) }}
),

landed as (
    select
        load_id,
        {{ staging_batch_time() }} as staged_at,
        marketplace_code,
        country_code,
        file_modified_at,
        file_hash,
        file_name,
        source_row_number,
        malformed_record,
        row_error,
        extra_columns,
        report_date,
        seller_id,
        sku_id,
        units_sold,
        gmv,
        seller_name,
        seller_type,
        sku_name,
        brand,
        category,
        barcode,
        unit_price,
        currency_code,
        orders,
        page_views,
        discount,
        report_date_text,
        units_sold_text,
        gmv_text,
        unit_price_text,
        orders_text,
        page_views_text,
        discount_text
    from delivered
    where copy_number = 1
)

select * from landed
