{#- append_new_columns: a warehouse built before last_staged_at existed upgrades
    itself (see the macro rows_of_keys_touched_by_new_loads). -#}
{{
    config(
        on_schema_change='append_new_columns',
        **keyed_incremental(['marketplace_code', 'sku_id']),
    )
}}

-- One row per marketplace SKU with its latest known attributes: each
-- attribute comes from the most recent delivery that carries it. Incremental
-- runs recompute only the SKUs that rows of newer loads mention.
{% set sku_key = 'marketplace_code, sku_id' %}

with accepted_rows as {{ not_materialized() }} (
    select * from {{ ref('int_sales_rows_validated') }}
    where rejection_reason is null
),

rows_of_skus as (
    {{
        rows_of_keys_touched_by_new_loads(
            'accepted_rows', ['marketplace_code', 'sku_id']
        )
    }}
),

{% set newest_first -%}
    {{ newest_delivery_first() }}, report_date desc, source_row_number desc
{%- endset %}

ranked as (
    select
        *,
        row_number() over (
            partition by {{ sku_key }} order by {{ newest_first }}
        ) as recency
    from rows_of_skus
),

latest as (
    select
        marketplace_code,
        sku_id,
        {{ latest_non_null('sku_name', sku_key, 'recency') }} as sku_name,
        {{ latest_non_null('brand', sku_key, 'recency') }} as brand,
        {{ latest_non_null('category', sku_key, 'recency') }} as category,
        {{ latest_non_null('barcode', sku_key, 'recency') }} as barcode,
        {{ latest_non_null('unit_price', sku_key, 'recency') }} as unit_price,
        min(report_date) over (partition by {{ sku_key }}) as first_report_date,
        max(report_date) over (partition by {{ sku_key }}) as last_report_date,
        max(load_id) over (partition by {{ sku_key }}) as last_load_id,
        max(staged_at) over (partition by {{ sku_key }}) as last_staged_at,
        recency
    from ranked
),

final as (
    select
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(sku_id as {{ text_type() }}) as sku_id,
        cast(sku_name as {{ text_type() }}) as sku_name,
        cast(brand as {{ text_type() }}) as brand,
        cast(category as {{ text_type() }}) as category,
        cast(barcode as {{ text_type() }}) as barcode,
        cast(unit_price as decimal(18, 4)) as unit_price,
        first_report_date,
        last_report_date,
        cast(last_load_id as {{ text_type() }}) as last_load_id,
        last_staged_at
    from latest
    where recency = 1
)

select * from final
