{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['order_id']) }}"],
        **keyed_incremental('order_id'),
    )
}}

-- One row per payment attempt, numbered per order in time order.
-- Incremental: orders touched by new loads are rebuilt whole, so a late
-- attempt renumbers the others.
with events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where event_type = 'MAKE_PAYMENT'
),

events_of_touched_orders as (
    {{ rows_of_keys_touched_by_new_loads('events', ['order_id']) }}
),

attempts as (
    select
        events.*,
        row_number() over (
            partition by events.order_id
            order by events.occurred_at, events.payment_id, events.event_id
        ) as attempt_number,
        row_number() over (
            partition by events.payment_id
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
        cast(payment_id as {{ text_type() }}) as payment_id,
        cast(order_id as {{ text_type() }}) as order_id,
        cast(event_id as {{ text_type() }}) as event_id,
        cast(customer_id as {{ text_type() }}) as customer_id,
        cast(country_code as {{ text_type() }}) as country_code,
        occurred_at as attempted_at,
        cast(occurred_at as date) as attempt_date,
        cast(attempt_number as bigint) as attempt_number,
        cast(amount as decimal(18, 4)) as amount,
        cast(currency_code as {{ text_type() }}) as currency_code,
        cast(payment_method as {{ text_type() }}) as payment_method,
        cast(payment_status as {{ text_type() }}) as payment_status,
        cast(order_last_load_id as {{ text_type() }}) as last_load_id,
        order_last_staged_at as last_staged_at
    from attempts
    where claim_number = 1
)

select * from final
