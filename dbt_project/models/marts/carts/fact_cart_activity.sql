{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['cart_id']) }}"],
        **keyed_incremental('cart_id'),
    )
}}

-- One row per item added to or removed from a cart, quantity and value signed
-- (removals negative). A removal is valued at the price of the article's
-- latest addition to that cart. Incremental: carts touched by new loads are
-- rebuilt whole, so a late addition also fixes the value of its removal.
with events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where event_type in ('ADD_TO_CART', 'REMOVE_FROM_CART')
),

cart_events as (
    {{ rows_of_keys_touched_by_new_loads('events', ['cart_id']) }}
),

latest_add_prices as (
    select
        cart_id,
        article_id,
        unit_price,
        currency_code,
        row_number() over (
            partition by cart_id, article_id
            order by occurred_at desc, event_id desc
        ) as recency
    from cart_events
    where event_type = 'ADD_TO_CART'
),

priced as (
    select
        cart_events.*,
        case
            when cart_events.event_type = 'ADD_TO_CART' then 'add' else 'remove'
        end as activity_type,
        case
            when cart_events.event_type = 'ADD_TO_CART' then cart_events.quantity
            else -cart_events.quantity
        end as quantity_change,
        coalesce(cart_events.unit_price, prices.unit_price) as item_price,
        coalesce(cart_events.currency_code, prices.currency_code) as item_currency,
        max(cart_events.load_id) over (
            partition by cart_events.cart_id
        ) as cart_last_load_id,
        max(cart_events.staged_at) over (
            partition by cart_events.cart_id
        ) as cart_last_staged_at
    from cart_events
    left join latest_add_prices as prices
        on
            cart_events.cart_id = prices.cart_id
            and cart_events.article_id = prices.article_id
            and prices.recency = 1
),

final as (
    select
        cast(event_id as {{ text_type() }}) as event_id,
        cast(cart_id as {{ text_type() }}) as cart_id,
        cast(customer_id as {{ text_type() }}) as customer_id,
        cast(article_id as {{ text_type() }}) as article_id,
        cast(country_code as {{ text_type() }}) as country_code,
        occurred_at,
        cast(occurred_at as date) as activity_date,
        cast(activity_type as {{ text_type() }}) as activity_type,
        cast(quantity_change as bigint) as quantity_change,
        cast(item_price as decimal(18, 4)) as unit_price,
        cast(quantity_change * item_price as decimal(18, 4)) as value_change,
        cast(item_currency as {{ text_type() }}) as currency_code,
        cast(cart_last_load_id as {{ text_type() }}) as last_load_id,
        cart_last_staged_at as last_staged_at
    from priced
)

select * from final
