-- The event ingest manifest: one row per file seen per ingest run.
with source as (
    select * from {{ source('web_shop', 'shop_event_files') }}
),

renamed as (
    select
        file_hash,
        file_name,
        file_url,
        size_bytes,
        status,
        reason,
        row_count as line_count,
        cast(modified_at as timestamp) as file_modified_at,
        cast(seen_at as timestamp) as seen_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
