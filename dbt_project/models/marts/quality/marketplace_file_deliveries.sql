-- Every file the ingest has seen, per run: loaded, rejected (with the reason;
-- the file sits in the inbox's _quarantine folder) or skipped as a repeat.
with manifest as (
    select * from {{ ref('stg_marketplace__files') }}
),

final as (
    select
        cast(file_name as {{ dbt.type_string() }}) as file_name,
        cast(file_url as {{ dbt.type_string() }}) as file_url,
        cast(file_hash as {{ dbt.type_string() }}) as file_hash,
        cast(size_bytes as bigint) as size_bytes,
        file_modified_at,
        cast(marketplace_code as {{ dbt.type_string() }}) as marketplace_code,
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(row_count as bigint) as row_count,
        seen_at,
        cast(load_id as {{ dbt.type_string() }}) as load_id
    from manifest
)

select * from final
