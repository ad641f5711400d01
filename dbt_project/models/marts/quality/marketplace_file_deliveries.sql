-- Every new file the ingest has seen, from loads dlt completed: loaded,
-- rejected (the file sits in the inbox's _quarantine folder, with the reason)
-- or skipped as a repeat of an earlier delivery. A file left unchanged in the
-- inbox is listed once, when first seen. Should one delivery have landed twice
-- (two ingests at once), the later landing is listed as skipped, so the
-- loaded rows are exactly the deliveries the marts hold.
with manifest as (
    select * from {{ ref('stg_marketplace__files') }}
),

completed_loads as (
    select * from {{ ref('stg_dlt__loads') }}
),

deliveries as (
    {{ first_landing_per_file(
        'manifest',
        'completed_loads',
        delivery_key=['file_hash', 'marketplace_code', 'country_code']
    ) }}
),

seen as (
    select
        manifest.*,
        case
            when manifest.status = 'loaded' and deliveries.load_id is null
                then 'skipped'
            else manifest.status
        end as delivery_status,
        case
            when manifest.status = 'loaded' and deliveries.load_id is null
                then 'already ingested: the same delivery landed twice (runs at once)'
            else manifest.reason
        end as delivery_reason
    from manifest
    inner join completed_loads
        on manifest.load_id = completed_loads.load_id
    left join deliveries
        on
            manifest.load_id = deliveries.load_id
            and manifest.file_hash = deliveries.file_hash
            and manifest.file_name = deliveries.file_name
),

final as (
    select
        cast(file_name as {{ text_type() }}) as file_name,
        cast(file_url as {{ text_type() }}) as file_url,
        cast(file_hash as {{ text_type() }}) as file_hash,
        cast(size_bytes as bigint) as size_bytes,
        file_modified_at,
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(country_code as {{ text_type() }}) as country_code,
        cast(delivery_status as {{ text_type() }}) as status,
        cast(delivery_reason as {{ text_type() }}) as reason,
        cast(row_count as bigint) as row_count,
        seen_at,
        cast(load_id as {{ text_type() }}) as load_id
    from seen
)

select * from final
