-- Delivered rows kept out of the marts, with the reason and the values as
-- delivered, so a data owner can fix the source file.
with validated as (
    select * from {{ ref('int_sales_rows_validated') }}
),

final as (
    select
        cast(file_name as {{ text_type() }}) as file_name,
        cast(file_hash as {{ text_type() }}) as file_hash,
        cast(source_row_number as bigint) as source_row_number,
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(country_code as {{ text_type() }}) as country_code,
        cast(load_id as {{ text_type() }}) as load_id,
        staged_at,
        cast(rejection_reason as {{ text_type() }}) as rejection_reason,
        cast(report_date_text as {{ text_type() }}) as report_date,
        cast(seller_id as {{ text_type() }}) as seller_id,
        cast(sku_id as {{ text_type() }}) as sku_id,
        cast(units_sold_text as {{ text_type() }}) as units_sold,
        cast(gmv_text as {{ text_type() }}) as gmv,
        cast(currency_code as {{ text_type() }}) as currency,
        cast(seller_type as {{ text_type() }}) as seller_type,
        cast(malformed_record as {{ text_type() }}) as malformed_record
    from validated
    where rejection_reason is not null
)

select * from final
