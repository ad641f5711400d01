{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['staged_at']) }}",
            "{{ create_index(['staged_at'], where='rejection_reason is not null') }}",
        ],
    )
}}

-- Every delivered row with its delivery's marketplace, country and load, the
-- currency it is in, gmv in USD (macro to_usd with the day's rate in
-- int_fx_rates_daily; null without one), and why it is
-- rejected (null when it is accepted). Numbers and days must also lie in the
-- accepted ranges (vars accepted_ranges, checked by accepted_range_check),
-- each row's and, for the figures the contract adds up, each delivery key's
-- total: no accepted row can overflow a mart's column.
-- Incremental: each row is validated and converted once, in the build that
-- stages it (all rows of a delivery are staged together, so the delivery-key
-- totals below see the whole delivery); the marts read it as a table instead
-- of validating every landed row again in every build.
with sales_rows as (
    select * from {{ ref('int_sales_rows_landed') }}
    {% if is_incremental() %}
        where {{ staged_since_last_build(watermark='staged_at') }}
    {% endif %}
),

countries as (
    select * from {{ ref('countries') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

-- a currency is known when a country uses it or some day has a rate for it;
-- a known currency without a rate that day is not rejected: its USD is null
known_currencies as (
    select currency_code from countries
    union
    select distinct currency_code from fx_rates
),

delivered as (
    select
        sales_rows.*,
        coalesce(
            sales_rows.currency_code, countries.currency_code
        ) as effective_currency_code
    from sales_rows
    left join countries
        on sales_rows.country_code = countries.country_code
),

converted as (
    select
        delivered.*,
        known_currencies.currency_code as known_currency_code,
        -- untyped here (DuckDB divides decimals as doubles), and only of a
        -- gmv in range; cast below only when in range, so it cannot overflow
        case
            when abs(delivered.gmv) < {{ accepted_range_bounds('money').max_abs }}
                then {{ to_usd('delivered.gmv', 'fx_rates.units_per_usd') }}
        end as gmv_usd_unbounded
    from delivered
    left join known_currencies
        on delivered.effective_currency_code = known_currencies.currency_code
    left join fx_rates
        on
            delivered.effective_currency_code = fx_rates.currency_code
            and delivered.report_date = fx_rates.rate_date
),

row_checked as (
    select
        converted.*,
        case
            -- the reader's reason first: such a row is also kept whole
            when converted.row_error is not null then converted.row_error
            when converted.malformed_record is not null
                then 'record has a different number of fields than the header'
            else nullif(concat_ws(
                '; ',
                case
                    when converted.report_date_text is null
                        then 'report_date is missing'
                    when converted.report_date is null
                        then 'report_date is not a date (YYYY-MM-DD)'
                    else {{ accepted_range_check(
                        'report_date', 'converted.report_date', 'report_date',
                        text='converted.report_date_text'
                    ) }}
                end,
                case
                    when converted.seller_id is null then 'seller_id is missing'
                end,
                case when converted.sku_id is null then 'sku_id is missing' end,
                {{ number_field_check(
                    'units_sold', 'converted.units_sold', 'converted.units_sold_text',
                    'count', missing_reason="'units_sold is missing'"
                ) }},
                {{ number_field_check(
                    'gmv', 'converted.gmv', 'converted.gmv_text', 'money',
                    missing_reason="'gmv is missing'"
                ) }},
                {{ accepted_range_check(
                    'money', 'converted.gmv_usd_unbounded', 'gmv_usd',
                    subject='gmv in USD'
                ) }},
                {{ number_field_check(
                    'unit_price', 'converted.unit_price',
                    'converted.unit_price_text', 'money'
                ) }},
                {{ number_field_check(
                    'orders', 'converted.orders', 'converted.orders_text', 'count'
                ) }},
                {{ number_field_check(
                    'page_views', 'converted.page_views',
                    'converted.page_views_text', 'count'
                ) }},
                {{ number_field_check(
                    'discount', 'converted.discount', 'converted.discount_text',
                    'money'
                ) }},
                case
                    when
                        converted.seller_type is not null
                        and converted.seller_type
                        not in ('individual', 'retail_chain')
                        then 'seller_type is not individual or retail_chain'
                end,
                case
                    when converted.known_currency_code is null
                        then 'currency is not a known ISO 4217 code'
                end
            ), '')
        end as row_rejection_reason
    from converted
),

-- The contract adds up the rows of one delivery that share a key: the
-- totals of the rows accepted so far must lie in the accepted ranges too.
key_totals as (
    select
        row_checked.*,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.units_sold
            end
        ) over delivery_key as key_units_sold,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.gmv
            end
        ) over delivery_key as key_gmv,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.gmv_usd_unbounded
            end
        ) over delivery_key as key_gmv_usd_unbounded,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.orders
            end
        ) over delivery_key as key_orders,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.page_views
            end
        ) over delivery_key as key_page_views,
        sum(
            case
                when row_checked.row_rejection_reason is null
                    then row_checked.discount
            end
        ) over delivery_key as key_discount
    from row_checked
    window delivery_key as (
        partition by
            row_checked.load_id,
            row_checked.file_hash,
            row_checked.report_date,
            row_checked.seller_id,
            row_checked.sku_id
    )
),

{%- set same_key = ' added up over the rows of this file with the same'
    ~ ' report_date, seller_id and sku_id' %}

checked as (
    select
        key_totals.*,
        -- the same precision on every engine; in range wherever the row is
        -- accepted so far
        case
            when key_totals.row_rejection_reason is null
                then cast(key_totals.gmv_usd_unbounded as decimal(18, 6))
        end as gmv_usd,
        coalesce(
            key_totals.row_rejection_reason,
            nullif(concat_ws(
                '; ',
                {{ accepted_range_check(
                    'count', 'key_totals.key_units_sold', 'units_sold',
                    subject='units_sold' ~ same_key
                ) }},
                {{ accepted_range_check(
                    'money', 'key_totals.key_gmv', 'gmv',
                    subject='gmv' ~ same_key
                ) }},
                {{ accepted_range_check(
                    'money', 'key_totals.key_gmv_usd_unbounded',
                    'gmv_usd',
                    subject='gmv in USD' ~ same_key
                ) }},
                {{ accepted_range_check(
                    'count', 'key_totals.key_orders', 'orders',
                    subject='orders' ~ same_key
                ) }},
                {{ accepted_range_check(
                    'count', 'key_totals.key_page_views', 'page_views',
                    subject='page_views' ~ same_key
                ) }},
                {{ accepted_range_check(
                    'money', 'key_totals.key_discount', 'discount',
                    subject='discount' ~ same_key
                ) }}
            ), '')
        ) as rejection_reason
    from key_totals
)

select * from checked
