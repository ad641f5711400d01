{#- Deliveries of an ingest manifest that dlt landed completely and that the
    landed model does not hold yet: the files whose rows it stores next. "Not
    held yet" is a set difference by delivery (see first_landing_per_file),
    not a load-id watermark, so a load that completes after a later one (or a
    file landed twice by two ingests at once) is staged exactly once. -#}
{% macro new_completed_deliveries(
    manifest, completed_loads, columns=[], delivery_key=['file_hash']
) -%}
    select
        {%- for column in delivery_key %}
        landed.{{ column }},
        {%- endfor %}
        landed.file_name,
        landed.load_id
        {%- for column in columns %},
        landed.{{ column }}
        {%- endfor %}
    from (
        {{ first_landing_per_file(manifest, completed_loads, delivery_key) }}
    ) as landed
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as staged
            where
                {%- for column in delivery_key %}
                {{ 'and ' if not loop.first }}staged.{{ column }} = landed.{{ column }}
                {%- endfor %}
        )
    {% endif %}
{%- endmacro %}
