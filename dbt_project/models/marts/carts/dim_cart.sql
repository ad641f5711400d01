{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['cart_id']) }}"],
        **keyed_incremental('cart_id'),
    )
}}

-- One row per cart: when and by whom it was created, what happened to it and
-- what it held at checkout. Status: converted when an order was placed from
-- it; abandoned when not converted and idle for 24 hours before the newest
-- event in the warehouse (data time, so a rebuild gives the same answer);
-- open otherwise. Incremental: the carts that new loads touch (their events,
-- the events of an order placed from them) and every cart still open (the
-- newest event moves on, so it may be abandoned now) are recomputed from all
-- their rows; a converted or abandoned cart changes only when touched.
{%- set incremental_run = is_incremental()
    and relation_has_column(this, 'last_staged_at') %}

with all_events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
),

all_orders as (
    select * from {{ ref('fact_sales') }}
),

{% if incremental_run -%}
touched_carts as (
    select cart_id from all_events
    where cart_id is not null and {{ staged_since_last_build('staged_at') }}
    union
    select cart_id from all_orders
    where cart_id is not null and {{ staged_since_last_build('last_staged_at') }}
    union
    select cart_id from {{ this }}
    where cart_status = 'open'
),
{%- endif %}

events as (
    select * from all_events
    where
        cart_id is not null
    {% if incremental_run -%}
            and cart_id in (select cart_id from touched_carts)
        {%- endif %}
),

activity as (
    select * from {{ ref('fact_cart_activity') }}
    {% if incremental_run -%}
        where cart_id in (select cart_id from touched_carts)
    {%- endif %}
),

orders as (
    select * from all_orders
    where
        placed_at is not null
    {% if incremental_run -%}
            and cart_id in (select cart_id from touched_carts)
        {%- endif %}
),

order_lines as (
    select * from {{ ref('fact_order_details') }}
    {% if incremental_run -%}
        where order_id in (select order_id from orders)
    {%- endif %}
),

cart_events as (
    select
        cart_id,
        customer_id,
        country_code,
        occurred_at,
        staged_at,
        case when event_type = 'CREATE_CART' then 0 else 1 end as creation_rank
    from events
),

carts as (
    select
        cart_id,
        customer_id,
        country_code,
        occurred_at as created_at,
        row_number() over (
            partition by cart_id order by creation_rank, occurred_at
        ) as creation_number,
        max(occurred_at) over (partition by cart_id) as last_activity_at,
        max(staged_at) over (partition by cart_id) as last_staged_at
    from cart_events
),

item_changes as (
    select
        cart_id,
        sum(case when quantity_change > 0 then quantity_change else 0 end)
            as items_added,
        sum(case when quantity_change < 0 then -quantity_change else 0 end)
            as items_removed
    from activity
    group by cart_id
),

checkouts as (
    select
        orders.cart_id,
        orders.order_id,
        orders.placed_at,
        orders.total_amount,
        orders.currency_code,
        orders.last_staged_at,
        row_number() over (
            partition by orders.cart_id order by orders.placed_at, orders.order_id
        ) as checkout_number
    from orders
),

checkout_items as (
    select
        order_id,
        sum(quantity) as items_at_checkout
    from order_lines
    group by order_id
),

data_time as (
    -- of every event, not only the touched carts'
    select max(occurred_at) as newest_event_at from all_events
),

final as (
    select
        cast(carts.cart_id as {{ text_type() }}) as cart_id,
        cast(carts.customer_id as {{ text_type() }}) as customer_id,
        cast(carts.country_code as {{ text_type() }}) as country_code,
        carts.created_at,
        cast(carts.created_at as date) as created_date,
        carts.last_activity_at,
        cast(
            case
                when checkouts.order_id is not null then 'converted'
                when
                    carts.last_activity_at
                    < {{ dbt.dateadd('hour', -24, 'data_time.newest_event_at') }}
                    then 'abandoned'
                else 'open'
            end as {{ text_type() }}
        ) as cart_status,
        cast(coalesce(item_changes.items_added, 0) as bigint) as items_added,
        cast(coalesce(item_changes.items_removed, 0) as bigint) as items_removed,
        cast(checkouts.order_id as {{ text_type() }}) as order_id,
        checkouts.placed_at as converted_at,
        cast(checkout_items.items_at_checkout as bigint) as items_at_checkout,
        cast(checkouts.total_amount as decimal(18, 4)) as value_at_checkout,
        cast(checkouts.currency_code as {{ text_type() }}) as currency_code,
        -- the newest load the cart's events or its order took part in: the
        -- watermark
        greatest(
            carts.last_staged_at,
            coalesce(checkouts.last_staged_at, carts.last_staged_at)
        ) as last_staged_at
    from carts
    cross join data_time
    left join item_changes on carts.cart_id = item_changes.cart_id
    left join checkouts
        on
            carts.cart_id = checkouts.cart_id
            and checkouts.checkout_number = 1
    left join checkout_items on checkouts.order_id = checkout_items.order_id
    where carts.creation_number = 1
)

select * from final
