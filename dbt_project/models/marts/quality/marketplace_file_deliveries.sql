-- Every new file the ingest has seen: loaded, rejected (with the reason; the
-- file sits in the inbox's _quarantine folder) or skipped as a repeat of earlier
-- bytes. A file left unchanged in the inbox is listed once, when first seen:
-- also a rejected file that a run killed before quarantining it left behind, and
-- that the next run rejects again.
with manifest as (
    select * from {{ ref('stg_marketplace__files') }}
),

first_sightings as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by
                    file_url, file_hash, size_bytes, file_modified_at, status, reason
                order by seen_at, load_id
            ) as sighting
        from manifest
    ) as sightings
    where sighting = 1
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
        cast(status as {{ text_type() }}) as status,
        cast(reason as {{ text_type() }}) as reason,
        cast(row_count as bigint) as row_count,
        seen_at,
        cast(load_id as {{ text_type() }}) as load_id
    from first_sightings
)

select * from final
