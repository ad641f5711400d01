-- Delivered events as landed (duplicates included), the envelope trimmed and
-- typed, occurred_at in UTC, and each event type's fields read from the
-- payload. A view over every landed line, loads dlt never completed
-- included: int_shop_events_landed picks the lines of new completed
-- deliveries and stores them, so each payload is parsed once.
{%- set payload_fields = [
    'article_id', 'cart_id', 'order_id', 'payment_id', 'line_number', 'quantity',
    'unit_price', 'total_amount', 'amount', 'currency', 'payment_method', 'status',
] %}

with source as (
    select * from {{ source('web_shop', 'shop_events') }}
),

parsed as (
    select
        source.*,
        -- the payload's fields (none of them an envelope column's name)
        json_document.*
    from source
    {{ json_record_join(
        'case when source._parse_error is null then source.payload end',
        payload_fields,
        'json_document'
    ) }}
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
        article_id,
        cart_id,
        order_id,
        payment_id,
        {{ text_to_integer('line_number') }} as order_line_number,
        {{ text_to_integer('quantity') }} as quantity,
        {{ text_to_decimal('unit_price') }} as unit_price,
        {{ text_to_decimal('total_amount') }} as total_amount,
        {{ text_to_decimal('amount') }} as amount,
        upper(currency) as currency_code,
        lower(payment_method) as payment_method,
        lower(status) as payment_status
    from parsed
)

select * from typed
