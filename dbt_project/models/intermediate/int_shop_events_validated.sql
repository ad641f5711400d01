-- Every delivered event and why it is rejected (null when it is accepted).
-- Unknown event types are accepted: they stay queryable and feed no fact.
with delivered as (
    select * from {{ ref('stg_web_shop__events') }}
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
                        and (quantity is null or quantity <= 0)
                        then event_type || ' without a positive whole quantity'
                end
            ), '')
        end as rejection_reason
    from delivered
)

select * from checked
