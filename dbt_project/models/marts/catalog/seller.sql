{#- append_new_columns: a warehouse built before last_staged_at existed upgrades
    itself (see the macro rows_of_keys_touched_by_new_loads). -#}
{{
    config(
        on_schema_change='append_new_columns',
        **keyed_incremental(['marketplace_code', 'seller_id']),
    )
}}

-- One row per marketplace seller: latest name and type (each from the most
-- recent delivery that carries it) and the countries it sold in. Incremental
-- runs recompute only the sellers that rows of newer loads mention.
{% set seller_key = 'marketplace_code, seller_id' %}

with accepted_rows as {{ not_materialized() }} (
    select * from {{ ref('int_sales_rows_validated') }}
    where rejection_reason is null
),

rows_of_sellers as (
    {{
        rows_of_keys_touched_by_new_loads(
            'accepted_rows', ['marketplace_code', 'seller_id']
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
            partition by {{ seller_key }} order by {{ newest_first }}
        ) as recency
    from rows_of_sellers
),

latest as (
    select
        marketplace_code,
        seller_id,
        {{ latest_non_null('seller_name', seller_key, 'recency') }}
            as seller_name,
        {{ latest_non_null('seller_type', seller_key, 'recency') }}
            as seller_type,
        min(report_date) over (partition by {{ seller_key }}) as first_report_date,
        max(report_date) over (partition by {{ seller_key }}) as last_report_date,
        max(load_id) over (partition by {{ seller_key }}) as last_load_id,
        max(staged_at) over (partition by {{ seller_key }}) as last_staged_at,
        recency
    from ranked
),

seller_countries as (
    select distinct
        marketplace_code,
        seller_id,
        country_code
    from rows_of_sellers
),

countries_active as (
    select
        marketplace_code,
        seller_id,
        count(*) as country_count,
        {{ dbt.listagg('country_code', "','", 'order by country_code') }}
            as countries_active
    from seller_countries
    group by marketplace_code, seller_id
),

final as (
    select
        cast(latest.marketplace_code as {{ text_type() }})
            as marketplace_code,
        cast(latest.seller_id as {{ text_type() }}) as seller_id,
        cast(latest.seller_name as {{ text_type() }}) as seller_name,
        cast(latest.seller_type as {{ text_type() }}) as seller_type,
        cast(countries_active.countries_active as {{ text_type() }})
            as countries_active,
        cast(countries_active.country_count as bigint) as country_count,
        latest.first_report_date,
        latest.last_report_date,
        cast(latest.last_load_id as {{ text_type() }}) as last_load_id,
        latest.last_staged_at
    from latest
    inner join countries_active
        on
            latest.marketplace_code = countries_active.marketplace_code
            and latest.seller_id = countries_active.seller_id
    where latest.recency = 1
)

select * from final
