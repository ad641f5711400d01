{#- Deliveries (distinct file bytes) of an ingest manifest that dlt landed
    completely and that the staging table does not hold yet: the files whose
    rows it types next. "Not held yet" is a set difference by file, not a
    load-id watermark, so a load that completes after a later one (or a file
    landed twice by two ingests at once) is staged exactly once. -#}
{% macro new_completed_deliveries(manifest, completed_loads, columns=[]) -%}
    select
        landed.file_hash,
        landed.load_id
        {%- for column in columns %},
        landed.{{ column }}
        {%- endfor %}
    from ({{ first_landing_per_file(manifest, completed_loads) }}) as landed
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as staged
            where staged.file_hash = landed.file_hash
        )
    {% endif %}
{%- endmacro %}
