-- Every delivered row with its delivery's marketplace, country and load, the
-- currency it is in, and why it is rejected (null when it is accepted).
with sales_rows as (
    select * from {{ ref('stg_marketplace__sales_rows') }}
),

countries as (
    select * from {{ ref('countries') }}
),

known_currencies as (
    select distinct currency_code from {{ ref('fx_rates') }}
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

checked as (
    select
        delivered.*,
        case
            when delivered.malformed_record is not null
                then 'record has a different number of fields than the header'
            else nullif(concat_ws(
                '; ',
                case
                    when delivered.report_date_text is null
                        then 'report_date is missing'
                    when delivered.report_date is null
                        then 'report_date is not a date (YYYY-MM-DD)'
                end,
                case
                    when delivered.seller_id is null then 'seller_id is missing'
                end,
                case when delivered.sku_id is null then 'sku_id is missing' end,
                case
                    when delivered.units_sold_text is null
                        then 'units_sold is missing'
                    when delivered.units_sold is null
                        then 'units_sold is not a whole number'
                end,
                case
                    when delivered.gmv_text is null then 'gmv is missing'
                    when delivered.gmv is null then 'gmv is not a decimal number'
                end,
                case
                    when
                        delivered.unit_price_text is not null
                        and delivered.unit_price is null
                        then 'unit_price is not a decimal number'
                end,
                case
                    when
                        delivered.orders_text is not null
                        and delivered.orders is null
                        then 'orders is not a whole number'
                end,
                case
                    when
                        delivered.page_views_text is not null
                        and delivered.page_views is null
                        then 'page_views is not a whole number'
                end,
                case
                    when
                        delivered.discount_text is not null
                        and delivered.discount is null
                        then 'discount is not a decimal number'
                end,
                case
                    when
                        delivered.seller_type is not null
                        and delivered.seller_type
                        not in ('individual', 'retail_chain')
                        then 'seller_type is not individual or retail_chain'
                end,
                case
                    when known_currencies.currency_code is null
                        then 'currency is not a known ISO 4217 code'
                end
            ), '')
        end as rejection_reason
    from delivered
    left join known_currencies
        on delivered.effective_currency_code = known_currencies.currency_code
)

select * from checked
