{#- indexes (PostgreSQL): the watermark filter of the next build and the
    scoped data tests -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['file_hash']) }}",
            "{{ create_index(['staged_at']) }}",
        ],
    )
}}

-- The typed events (duplicates included) of every event file dlt landed
-- completely, with the load that landed it, stamped with when this build took
-- them (staged_at: the watermark every model downstream reads). Incremental:
-- a build takes the files not held yet (a set difference by file hash, see
-- new_completed_deliveries), so each payload is parsed and stored once.
with events as (
    select * from {{ ref('stg_web_shop__events') }}
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

landed as (
    select
        events.file_hash,
        events.file_name,
        events.source_line_number,
        new_files.load_id,
        {{ staging_batch_time() }} as staged_at,
        events.parse_error,
        events.payload,
        events.event_id,
        events.event_type,
        events.occurred_at_text,
        events.occurred_at,
        events.customer_id,
        events.session_id,
        events.country_code,
        events.article_id,
        events.cart_id,
        events.order_id,
        events.payment_id,
        events.order_line_number,
        events.quantity,
        events.unit_price,
        events.total_amount,
        events.amount,
        events.currency_code,
        events.payment_method,
        events.payment_status
    from events
    inner join new_files on events.file_hash = new_files.file_hash
    where {{ new_delivery_file_filter(
        'events.file_hash',
        ref('stg_web_shop__event_files'),
        ref('stg_dlt__loads')
    ) }}
)

select * from landed
