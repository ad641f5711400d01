{#- Deliveries (distinct file bytes) of an ingest manifest that dlt landed
    completely and, on an incremental run, that are newer than the model's
    newest load: the files whose rows a staging table types next. -#}
{% macro new_completed_deliveries(manifest, completed_loads, columns=[]) -%}
    select
        file_hash,
        load_id
        {%- for column in columns %},
        {{ column }}
        {%- endfor %}
    from ({{ first_landing_per_file(manifest, completed_loads) }}) as landed
    {% if is_incremental() %}
        where load_id > (select coalesce(max(load_id), '') from {{ this }})
    {% endif %}
{%- endmacro %}
