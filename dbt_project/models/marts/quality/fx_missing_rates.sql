-- Every (currency, day) a mart shows an amount for that no exchange rate
-- converts (neither the ECB's nor an override in fx_rate_overrides), with the
-- mart and how many of its rows are left without USD: the to-do list for
-- refreshing rates or adding an override. Empty when every amount converts.
with sku_sales as (
    select * from {{ ref('sku_sales') }}
    where gmv_usd is null and gmv is not null
),

shop_daily_metrics as (
    select * from {{ ref('shop_daily_metrics') }}
    where revenue_usd is null
),

marketplace_days as (
    select
        'sku_sales' as affected_model,
        currency_code,
        report_date as rate_date,
        count(*) as affected_rows,
        sum(gmv) as affected_amount
    from sku_sales
    group by currency_code, report_date
),

shop_days as (
    select
        'shop_daily_metrics' as affected_model,
        currency_code,
        metric_date as rate_date,
        count(*) as affected_rows,
        sum(revenue) as affected_amount
    from shop_daily_metrics
    group by currency_code, metric_date
),

missing as (
    select * from marketplace_days
    union all
    select * from shop_days
),

final as (
    select
        cast(currency_code as {{ text_type() }}) as currency_code,
        rate_date,
        cast(affected_model as {{ text_type() }}) as affected_model,
        cast(affected_rows as bigint) as affected_rows,
        cast(affected_amount as decimal(18, 4)) as affected_amount
    from missing
)

select * from final
