-- Delivered events as landed (duplicates included), the envelope trimmed and
-- typed, occurred_at in UTC, and each event type's fields read from the
-- payload. A view over every landed line, loads dlt never completed
-- included: int_shop_events_landed picks the lines of new completed
-- deliveries and stores them, so each payload is parsed once.
with source as (
    select * from {{ source('web_shop', 'shop_events') }}
),

parsed as (
    select
        *,
        case
            when _parse_error is null then {{ parse_json('payload') }}
        end as json_document
    from source
),

typed as (
    select
        _source_file_hash as file_hash,
        _source_file_name as file_name,
        _source_line_number as source_line_number,
        _parse_error as parse_error,
        payload,
        {{ clean_text('event_id') }} as event_id,
        upper({{ clean_text('event_type') }}) as event_type,
        {{ clean_text('occurred_at') }} as occurred_at_text,
        {{ rfc3339_to_utc(clean_text('occurred_at')) }} as occurred_at,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('session_id') }} as session_id,
        upper({{ clean_text('country_code') }}) as country_code,
        {{ json_text('json_document', 'article_id') }} as article_id,
        {{ json_text('json_document', 'cart_id') }} as cart_id,
        {{ json_text('json_document', 'order_id') }} as order_id,
        {{ json_text('json_document', 'payment_id') }} as payment_id,
        {{ text_to_integer(json_text('json_document', 'line_number')) }}
            as order_line_number,
        {{ text_to_integer(json_text('json_document', 'quantity')) }} as quantity,
        {{ text_to_decimal(json_text('json_document', 'unit_price')) }}
            as unit_price,
        {{ text_to_decimal(json_text('json_document', 'total_amount')) }}
            as total_amount,
        {{ text_to_decimal(json_text('json_document', 'amount')) }} as amount,
        upper({{ json_text('json_document', 'currency') }}) as currency_code,
        lower({{ json_text('json_document', 'payment_method') }})
            as payment_method,
        lower({{ json_text('json_document', 'status') }}) as payment_status
    from parsed
)

select * from typed
