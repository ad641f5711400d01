{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['event_id']) }}",
            "{{ create_index(['staged_at']) }}",
        ],
    )
}}

-- Accepted events, each event_id once (its first staged delivery wins).
-- Incremental: a run reads only rows staged since the newest already here and
-- appends the events not seen before, so re-deliveries never count twice and
-- late events land with their own occurred_at.
with accepted as (
    select * from {{ ref('int_shop_events_validated') }}
    where
        rejection_reason is null
    {% if is_incremental() %}
            and {{ staged_since_last_build(watermark='staged_at') }}
        {% endif %}
),

first_deliveries as (
    select
        *,
        row_number() over (
            partition by event_id
            order by staged_at, load_id, file_name, source_line_number
        ) as delivery_number
    from accepted
),

new_events as (
    select *
    from first_deliveries
    where
        delivery_number = 1
    {% if is_incremental() %}
            and not exists (
                select 1
                from {{ this }} as seen
                where seen.event_id = first_deliveries.event_id
            )
        {% endif %}
),

final as (
    select
        event_id,
        event_type,
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
        load_id,
        staged_at,
        file_name,
        source_line_number
    from new_events
)

select * from final
