{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['order_id']) }}"],
        **keyed_incremental('order_id'),
    )
}}

-- One row per order line (transaction item). Should two events claim the same
-- line of an order, the earlier one is the line. Incremental: orders touched
-- by new loads are rebuilt whole.
with events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where event_type = 'ORDER_DETAILS'
),

events_of_touched_orders as (
    {{ rows_of_keys_touched_by_new_loads('events', ['order_id']) }}
),

lines as (
    select
        events.*,
        row_number() over (
            partition by events.order_id, events.order_line_number
            order by events.occurred_at, events.event_id
        ) as claim_number,
        max(events.load_id) over (
            partition by events.order_id
        ) as order_last_load_id,
        max(events.staged_at) over (
            partition by events.order_id
        ) as order_last_staged_at
    from events_of_touched_orders as events
),

final as (
    select
        cast(order_id as {{ text_type() }}) as order_id,
        cast(order_line_number as bigint) as line_number,
        cast(event_id as {{ text_type() }}) as event_id,
        cast(article_id as {{ text_type() }}) as article_id,
        cast(customer_id as {{ text_type() }}) as customer_id,
        cast(country_code as {{ text_type() }}) as country_code,
        occurred_at,
        cast(occurred_at as date) as order_date,
        cast(quantity as bigint) as quantity,
        cast(unit_price as decimal(18, 4)) as unit_price,
        cast(quantity * unit_price as decimal(18, 4)) as line_amount,
        cast(currency_code as {{ text_type() }}) as currency_code,
        cast(order_last_load_id as {{ text_type() }}) as last_load_id,
        order_last_staged_at as last_staged_at
    from lines
    where claim_number = 1
)

select * from final
