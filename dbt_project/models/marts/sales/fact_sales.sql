{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['order_id']) }}"],
        **keyed_incremental('order_id'),
    )
}}

-- One row per web-shop order: placed (SALES), paid (SUCCESS_SALE) and its
-- payment attempts. Every order id seen in any order event has a row, so a
-- late SALES event never orphans lines or payments; such an order is pending
-- with no placed_at until its SALES arrives. Incremental: orders touched by
-- new loads are rebuilt whole.
with events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where event_type in ('SALES', 'ORDER_DETAILS', 'MAKE_PAYMENT', 'SUCCESS_SALE')
),

order_events as (
    {{ rows_of_keys_touched_by_new_loads('events', ['order_id']) }}
),

placements as (
    select
        *,
        row_number() over (
            partition by order_id order by occurred_at, event_id
        ) as placement_number
    from order_events
    where event_type = 'SALES'
),

completions as (
    select
        *,
        row_number() over (
            partition by order_id order by occurred_at, event_id
        ) as completion_number
    from order_events
    where event_type = 'SUCCESS_SALE'
),

per_order as (
    select
        order_id,
        min(customer_id) as any_customer_id,
        min(country_code) as any_country_code,
        sum(case when event_type = 'MAKE_PAYMENT' then 1 else 0 end)
            as payment_attempts,
        sum(
            case
                when event_type = 'MAKE_PAYMENT' and payment_status = 'failed'
                    then 1
                else 0
            end
        ) as failed_payment_attempts,
        sum(case when event_type = 'ORDER_DETAILS' then 1 else 0 end)
            as order_line_count,
        max(load_id) as last_load_id,
        max(staged_at) as last_staged_at
    from order_events
    group by order_id
),

final as (
    select
        cast(per_order.order_id as {{ text_type() }}) as order_id,
        cast(coalesce(placements.cart_id, completions.cart_id) as {{ text_type() }})
            as cart_id,
        cast(
            coalesce(placements.customer_id, per_order.any_customer_id)
            as {{ text_type() }}
        ) as customer_id,
        cast(
            coalesce(placements.country_code, per_order.any_country_code)
            as {{ text_type() }}
        ) as country_code,
        placements.occurred_at as placed_at,
        cast(placements.occurred_at as date) as placed_date,
        cast(placements.total_amount as decimal(18, 4)) as total_amount,
        cast(placements.currency_code as {{ text_type() }}) as currency_code,
        cast(
            case when completions.order_id is not null then 'paid' else 'pending' end
            as {{ text_type() }}
        ) as order_status,
        completions.occurred_at as paid_at,
        cast(completions.payment_id as {{ text_type() }}) as payment_id,
        cast(per_order.payment_attempts as bigint) as payment_attempts,
        cast(per_order.failed_payment_attempts as bigint) as failed_payment_attempts,
        cast(per_order.order_line_count as bigint) as order_line_count,
        cast(per_order.last_load_id as {{ text_type() }}) as last_load_id,
        per_order.last_staged_at
    from per_order
    left join placements
        on
            per_order.order_id = placements.order_id
            and placements.placement_number = 1
    left join completions
        on
            per_order.order_id = completions.order_id
            and completions.completion_number = 1
)

select * from final
