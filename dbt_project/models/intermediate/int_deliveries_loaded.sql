-- One row per accepted delivery (file bytes) with the load that landed it.
with files as (
    select * from {{ ref('stg_marketplace__files') }}
),

loaded as (
    select
        *,
        -- the same bytes land once; should a retried load repeat a file, the
        -- first load is the delivery
        row_number() over (
            partition by file_hash order by load_id, seen_at
        ) as landing_number
    from files
    where status = 'loaded'
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
    where landing_number = 1
)

select * from final
