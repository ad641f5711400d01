{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['file_hash']) }}"],
    )
}}

-- Delivered rows of completed loads with their delivery's marketplace,
-- country and load, trimmed and typed, and stamped with when this build
-- staged them (staged_at: the watermark downstream models read). A value
-- that does not fit its type is null in the typed column and kept as text in
-- the *_text column, so the validation downstream can say what was wrong. An
-- incremental table, unlike a plain staging view: each row is typed once,
-- when its file is new (not yet staged: a set difference by file hash).
with source as (
    select * from {{ source('marketplace', 'marketplace_sales_rows') }}
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
        delivery_key=['file_hash', 'marketplace_code', 'country_code']
    ) }}
),

delivered as (
    select
        source.*,
        new_files.load_id,
        new_files.marketplace_code,
        new_files.country_code,
        new_files.file_modified_at
    from source
    inner join new_files
        on
            source._source_file_hash = new_files.file_hash
            and source._source_file_name = new_files.file_name
),

trimmed as (
    select
        load_id,
        marketplace_code,
        country_code,
        file_modified_at,
        _source_file_hash as file_hash,
        _source_file_name as file_name,
        _source_row_number as source_row_number,
        _malformed_record as malformed_record,
        {#- raw tables of older warehouses gain the column with their next load -#}
        {% set raw_rows = source('marketplace', 'marketplace_sales_rows') %}
        {% if relation_has_column(raw_rows, '_row_error') %}
            _row_error as row_error,
        {% else %}
            cast(null as {{ text_type() }}) as row_error,
        {% endif %}
        _extra_columns as extra_columns,
        {{ clean_text('report_date') }} as report_date_text,
        {{ clean_text('seller_id') }} as seller_id,
        {{ clean_text('sku_id') }} as sku_id,
        {{ clean_text('units_sold') }} as units_sold_text,
        {{ clean_text('gmv') }} as gmv_text,
        {{ clean_text('seller_name') }} as seller_name,
        lower({{ clean_text('seller_type') }}) as seller_type,
        {{ clean_text('sku_name') }} as sku_name,
        {{ clean_text('brand') }} as brand,
        {{ clean_text('category') }} as category,
        {{ clean_text('barcode') }} as barcode,
        {{ clean_text('unit_price') }} as unit_price_text,
        upper({{ clean_text('currency') }}) as currency_code,
        {{ clean_text('orders') }} as orders_text,
        {{ clean_text('page_views') }} as page_views_text,
        {{ clean_text('discount') }} as discount_text,
        -- a retried load must not double a row: the delivered file and the
        -- row number are its identity
        row_number() over (
            partition by _source_file_hash, _source_file_name, _source_row_number
            order by _source_row_number
        ) as copy_number
    from delivered
),

typed as (
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
        {{ text_to_date('report_date_text') }} as report_date,
        seller_id,
        sku_id,
        {{ text_to_integer('units_sold_text') }} as units_sold,
        {{ text_to_decimal('gmv_text') }} as gmv,
        seller_name,
        seller_type,
        sku_name,
        brand,
        category,
        barcode,
        {{ text_to_decimal('unit_price_text') }} as unit_price,
        currency_code,
        {{ text_to_integer('orders_text') }} as orders,
        {{ text_to_integer('page_views_text') }} as page_views,
        {{ text_to_decimal('discount_text') }} as discount,
        report_date_text,
        units_sold_text,
        gmv_text,
        unit_price_text,
        orders_text,
        page_views_text,
        discount_text
    from trimmed
    where copy_number = 1
)

select * from typed
