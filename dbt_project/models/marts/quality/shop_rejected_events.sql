{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
    )
}}

-- Delivered event lines kept out of the facts (not JSON, a missing envelope
-- field, an unparseable timestamp, a type without its ids), with the reason
-- and the line as delivered. Incremental: each run adds the rejects staged
-- since the newest reject already listed.
with validated as (
    select * from {{ ref('int_shop_events_validated') }}
    {% if is_incremental() %}
        where {{ staged_since_last_build(watermark='staged_at') }}
    {% endif %}
),

final as (
    select
        cast(file_name as {{ text_type() }}) as file_name,
        cast(file_hash as {{ text_type() }}) as file_hash,
        cast(source_line_number as bigint) as source_line_number,
        cast(load_id as {{ text_type() }}) as load_id,
        staged_at,
        cast(rejection_reason as {{ text_type() }}) as rejection_reason,
        cast(event_id as {{ text_type() }}) as event_id,
        cast(event_type as {{ text_type() }}) as event_type,
        cast(payload as {{ text_type() }}) as payload
    from validated
    where rejection_reason is not null
)

select * from final
