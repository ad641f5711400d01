-- One row per accepted marketplace delivery (file bytes) with its load.
with files as (
    select * from {{ ref('stg_marketplace__files') }}
),

loaded as (
    {{ first_landing_per_file('files') }}
),

final as (
    select
        file_hash,
        file_name,
        file_url,
        marketplace_code,
        country_code,
        size_bytes,
        row_count,
        file_modified_at,
        load_id
    from loaded
)

select * from final
