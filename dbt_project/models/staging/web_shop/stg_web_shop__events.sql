{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['file_hash']) }}"],
    )
}}

-- Delivered events (duplicates included) with the envelope typed, occurred_at
-- in UTC, and each event type's fields read from the payload. Incremental
-- and a table, unlike other staging models: payloads are parsed once, when
-- their load is new, not on every read. Only loads dlt completed are read;
-- staged_at (when this build staged them) is the watermark downstream reads.
with source as (
    select * from {{ source('web_shop', 'shop_events') }}
),

files as (
    select * from {{ ref('stg_web_shop__event_files') }}
),

completed_loads as (
    select * from {{ ref('stg_dlt__loads') }}
),

new_files as (
    {{ new_completed_deliveries('files', 'completed_loads') }}
),

delivered as (
    select
        source.*,
        new_files.load_id
    from source
    inner join new_files on source._source_file_hash = new_files.file_hash
),

parsed as (
    select
        *,
        case
            when _parse_error is null then {{ parse_json('payload') }}
        end as json_document
    from delivered
),

typed as (
    select
        _source_file_hash as file_hash,
        _source_file_name as file_name,
        _source_line_number as source_line_number,
        load_id,
        {{ staging_batch_time() }} as staged_at,
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
