{#- One row per accepted delivery (distinct file bytes) of an ingest manifest,
    with the load that landed it, counting only loads dlt completed. Should a
    retried load repeat a file, the first load is the delivery. -#}
{% macro first_landing_per_file(manifest, completed_loads) -%}
    select *
    from (
        select
            {{ manifest }}.*,
            row_number() over (
                partition by {{ manifest }}.file_hash
                order by {{ manifest }}.load_id, {{ manifest }}.seen_at
            ) as landing_number
        from {{ manifest }}
        inner join {{ completed_loads }}
            on {{ manifest }}.load_id = {{ completed_loads }}.load_id
        where {{ manifest }}.status = 'loaded'
    ) as loaded
    where landing_number = 1
{%- endmacro %}
