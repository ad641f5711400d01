-- Delivered rows as landed, renamed, trimmed and typed. A value that does not
-- fit its type is null in the typed column and kept as text in the *_text
-- column, so the validation downstream can say what was wrong. A view over
-- every landed row, retried copies and loads dlt never completed included:
-- int_sales_rows_landed picks the rows of new completed deliveries and stores
-- them, so each row is typed once (the join's filter reaches the raw scan).
with source as (
    select * from {{ source('marketplace', 'marketplace_sales_rows') }}
),

trimmed as (
    select
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
        {{ clean_text('discount') }} as discount_text
    from source
),

typed as (
    select
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
)

select * from typed
