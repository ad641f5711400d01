-- One row per accepted marketplace delivery (file bytes) with its load.
with files as (
    select * from {{ ref('stg_marketplace__files') }}
),

completed_loads as (
    select * from {{ ref('stg_dlt__loads') }}
),

loaded as (
    {{ first_landing_per_file('files', 'completed_loads') }}
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
