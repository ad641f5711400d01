-- The ingest manifest: one row per file seen per ingest run.
with source as (
    select * from {{ source('marketplace', 'marketplace_files') }}
),

renamed as (
    select
        file_hash,
        file_name,
        file_url,
        size_bytes,
        upper(marketplace_code) as marketplace_code,
        upper(country_code) as country_code,
        status,
        reason,
        row_count,
        cast(modified_at as timestamp) as file_modified_at,
        cast(seen_at as timestamp) as seen_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
