{#- delete+insert on the grain: rows staged again (an older warehouse upgrading,
    which stages every landed row anew) replace their earlier copy -#}
{{
    config(
        on_schema_change='append_new_columns',
        **keyed_incremental(['file_hash', 'file_name', 'source_row_number']),
    )
}}

-- Delivered rows kept out of the marts, with the reason and the values as
-- delivered, so a data owner can fix the source file. Incremental: each run
-- adds the rejects staged since the newest reject already listed.
with validated as (
    select * from {{ ref('int_sales_rows_validated') }}
    {% if is_incremental() %}
        where {{ staged_since_last_build(watermark='staged_at') }}
    {% endif %}
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
