-- Web-shop funnel per UTC day and shop country: carts created and converted
-- (cohort of the day's new carts), orders placed and paid (cohort of the
-- day's orders), the two rates and paid revenue. Rates use safe_ratio, the
-- one definition every report shares; USD uses to_usd with the order day's
-- rate and is null when a paid order of the day has none (sum_usd).
with carts as (
    select * from {{ ref('dim_cart') }}
),

orders as (
    select * from {{ ref('fact_sales') }}
    where placed_at is not null
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

cart_days as (
    select
        created_date as metric_date,
        coalesce(country_code, 'unknown') as country_code,
        count(*) as carts_created,
        sum(case when cart_status = 'converted' then 1 else 0 end)
            as carts_converted
    from carts
    group by created_date, coalesce(country_code, 'unknown')
),

order_days as (
    select
        orders.placed_date as metric_date,
        coalesce(orders.country_code, 'unknown') as country_code,
        count(*) as orders_placed,
        sum(case when orders.order_status = 'paid' then 1 else 0 end)
            as orders_paid,
        sum(case when orders.order_status = 'paid' then orders.total_amount end)
            as revenue,
        max(orders.currency_code) as currency_code,
        {{ sum_usd(
            'case when orders.order_status = \'paid\' then '
                ~ to_usd('orders.total_amount', 'fx_rates.units_per_usd') ~ ' end',
            'case when orders.order_status = \'paid\' then orders.total_amount end'
        ) }} as revenue_usd
    from orders
    left join fx_rates
        on
            orders.currency_code = fx_rates.currency_code
            and orders.placed_date = fx_rates.rate_date
    group by orders.placed_date, coalesce(orders.country_code, 'unknown')
),

final as (
    select
        coalesce(cart_days.metric_date, order_days.metric_date) as metric_date,
        cast(
            coalesce(cart_days.country_code, order_days.country_code)
            as {{ text_type() }}
        ) as country_code,
        cast(coalesce(cart_days.carts_created, 0) as bigint) as carts_created,
        cast(coalesce(cart_days.carts_converted, 0) as bigint) as carts_converted,
        cast(
            {{ safe_ratio('cart_days.carts_converted', 'cart_days.carts_created') }}
            as decimal(18, 6)
        ) as cart_conversion_rate,
        cast(coalesce(order_days.orders_placed, 0) as bigint) as orders_placed,
        cast(coalesce(order_days.orders_paid, 0) as bigint) as orders_paid,
        cast(
            {{ safe_ratio('order_days.orders_paid', 'order_days.orders_placed') }}
            as decimal(18, 6)
        ) as payment_completion_rate,
        cast(coalesce(order_days.revenue, 0) as decimal(18, 4)) as revenue,
        cast(order_days.currency_code as {{ text_type() }}) as currency_code,
        -- no paid order is 0 USD; a paid order without a rate makes it null
        cast(
            case
                when coalesce(order_days.orders_paid, 0) = 0 then 0
                else order_days.revenue_usd
            end as decimal(18, 4)
        ) as revenue_usd
    from cart_days
    full outer join order_days
        on
            cart_days.metric_date = order_days.metric_date
            and cart_days.country_code = order_days.country_code
)

select * from final
