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

-- Every delivered event and why it is rejected (null when it is accepted).
-- Unknown event types are accepted: they stay queryable and feed no fact.
-- occurred_at, quantity and the money fields must lie in the accepted ranges
-- (vars accepted_ranges, checked by accepted_range_check); the money a type
-- carries (contract: ADD_TO_CART and ORDER_DETAILS unit_price, SALES
-- total_amount, MAKE_PAYMENT amount) must be there, and any money field or
-- quantity that is there must be a number.
-- Incremental: each line is validated once, in the build that stages it, so
-- the facts and the rejected-events mart read a table, not every landed line
-- validated again in every build.
{%- set without = "event_type || ' without " %}
with delivered as (
    select * from {{ ref('int_shop_events_landed') }}
    {% if is_incremental() %}
        where {{ staged_since_last_build(watermark='staged_at') }}
    {% endif %}
),

-- The delivered text of a number staging left null: read again from the
-- payload, which is parsed only for such lines (a field that is there but
-- not a number, too large, or JSON null), so rarely.
with_texts as (
    select
        *,
        case
            when
                quantity is null
                and parse_error is null
                and payload like '%"quantity"%'
                then {{ json_text(parse_json('payload'), 'quantity') }}
        end as quantity_text,
        case
            when
                unit_price is null
                and parse_error is null
                and payload like '%"unit_price"%'
                then {{ json_text(parse_json('payload'), 'unit_price') }}
        end as unit_price_text,
        case
            when
                total_amount is null
                and parse_error is null
                and payload like '%"total_amount"%'
                then {{ json_text(parse_json('payload'), 'total_amount') }}
        end as total_amount_text,
        case
            when
                amount is null
                and parse_error is null
                and payload like '%"amount"%'
                then {{ json_text(parse_json('payload'), 'amount') }}
        end as amount_text
    from delivered
),

checked as (
    select
        *,
        case
            when parse_error is not null then 'line is ' || parse_error
            else nullif(concat_ws(
                '; ',
                case when event_id is null then 'event_id is missing' end,
                case when event_type is null then 'event_type is missing' end,
                case
                    when occurred_at_text is null then 'occurred_at is missing'
                    when occurred_at is null
                        then 'occurred_at is not an RFC 3339 timestamp with offset'
                    else {{ accepted_range_check(
                        'occurred_at', 'occurred_at', 'occurred_at',
                        text='occurred_at_text'
                    ) }}
                end,
                case when customer_id is null then 'customer_id is missing' end,
                case when session_id is null then 'session_id is missing' end,
                case
                    when
                        event_type in (
                            'DETAILS_VIEW', 'ADD_TO_CART', 'REMOVE_FROM_CART',
                            'ORDER_DETAILS'
                        )
                        and article_id is null
                        then event_type || ' without article_id'
                end,
                case
                    when
                        event_type in (
                            'CREATE_CART', 'ADD_TO_CART', 'REMOVE_FROM_CART', 'SALES'
                        )
                        and cart_id is null
                        then event_type || ' without cart_id'
                end,
                case
                    when
                        event_type in (
                            'SALES', 'ORDER_DETAILS', 'MAKE_PAYMENT', 'SUCCESS_SALE'
                        )
                        and order_id is null
                        then event_type || ' without order_id'
                end,
                case
                    when event_type = 'MAKE_PAYMENT' and payment_id is null
                        then 'MAKE_PAYMENT without payment_id'
                end,
                case
                    when
                        event_type in (
                            'ADD_TO_CART', 'REMOVE_FROM_CART', 'ORDER_DETAILS'
                        )
                        and quantity <= 0
                        then event_type || ' without a positive whole quantity'
                end,
                case
                    when
                        event_type in (
                            'ADD_TO_CART', 'REMOVE_FROM_CART', 'ORDER_DETAILS'
                        )
                        then {{ number_field_check(
                            'quantity', 'quantity', 'quantity_text', 'count',
                            missing_reason=without ~ "a positive whole quantity'",
                            invalid_reason=without ~ "a positive whole quantity'"
                        ) }}
                    else {{ number_field_check(
                        'quantity', 'quantity', 'quantity_text', 'count'
                    ) }}
                end,
                case
                    when event_type in ('ADD_TO_CART', 'ORDER_DETAILS')
                        then {{ number_field_check(
                            'unit_price', 'unit_price', 'unit_price_text', 'money',
                            missing_reason=without ~ "a valid unit_price'",
                            invalid_reason=without ~ "a valid unit_price'"
                        ) }}
                    else {{ number_field_check(
                        'unit_price', 'unit_price', 'unit_price_text', 'money'
                    ) }}
                end,
                case
                    when event_type = 'SALES'
                        then {{ number_field_check(
                            'total_amount', 'total_amount', 'total_amount_text',
                            'money',
                            missing_reason=without ~ "a valid total_amount'",
                            invalid_reason=without ~ "a valid total_amount'"
                        ) }}
                    else {{ number_field_check(
                        'total_amount', 'total_amount', 'total_amount_text', 'money'
                    ) }}
                end,
                case
                    when event_type = 'MAKE_PAYMENT'
                        then {{ number_field_check(
                            'amount', 'amount', 'amount_text', 'money',
                            missing_reason=without ~ "a valid amount'",
                            invalid_reason=without ~ "a valid amount'"
                        ) }}
                    else {{ number_field_check(
                        'amount', 'amount', 'amount_text', 'money'
                    ) }}
                end,
                {#- an order line's or cart item's value, as the facts compute it -#}
                case
                    when
                        event_type in ('ADD_TO_CART', 'ORDER_DETAILS')
                        and abs(quantity)
                        < {{ accepted_range_bounds('count').max_abs }}
                        and abs(unit_price)
                        < {{ accepted_range_bounds('money').max_abs }}
                        then {{ accepted_range_check(
                            'money', 'quantity * unit_price', 'quantity * unit_price'
                        ) }}
                end
            ), '')
        end as rejection_reason
    from with_texts
),

final as (
    select
        file_hash,
        file_name,
        source_line_number,
        load_id,
        staged_at,
        parse_error,
        event_id,
        event_type,
        occurred_at_text,
        occurred_at,
        customer_id,
        session_id,
        country_code,
        article_id,
        cart_id,
        order_id,
        payment_id,
        order_line_number,
        quantity,
        unit_price,
        total_amount,
        amount,
        currency_code,
        payment_method,
        payment_status,
        quantity_text,
        unit_price_text,
        total_amount_text,
        amount_text,
        rejection_reason,
        -- the delivered line only where a reader needs it, beside its reason:
        -- kept for every accepted event too it doubled the bytes a first
        -- build writes (landed already holds it)
        case when rejection_reason is not null then payload end as payload
    from checked
)

select * from final
