-- Delivered rows kept out of the marts, with the reason and the values as
-- delivered, so a data owner can fix the source file.
with validated as (
    select * from {{ ref('int_sales_rows_validated') }}
),

final as (
    select
        cast(file_name as {{ dbt.type_string() }}) as file_name,
        cast(file_hash as {{ dbt.type_string() }}) as file_hash,
        cast(source_row_number as bigint) as source_row_number,
        cast(marketplace_code as {{ dbt.type_string() }}) as marketplace_code,
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        cast(rejection_reason as {{ dbt.type_string() }}) as rejection_reason,
        cast(report_date_text as {{ dbt.type_string() }}) as report_date,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(sku_id as {{ dbt.type_string() }}) as sku_id,
        cast(units_sold_text as {{ dbt.type_string() }}) as units_sold,
        cast(gmv_text as {{ dbt.type_string() }}) as gmv,
        cast(currency_code as {{ dbt.type_string() }}) as currency,
        cast(seller_type as {{ dbt.type_string() }}) as seller_type,
        cast(malformed_record as {{ dbt.type_string() }}) as malformed_record
    from validated
    where rejection_reason is not null
)

select * from final
