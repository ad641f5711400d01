{#- One row per accepted delivery (distinct file bytes) of an ingest manifest,
    with the load that landed it: should a retried load repeat a file, the
    first load is the delivery. -#}
{% macro first_landing_per_file(manifest) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by file_hash order by load_id, seen_at
            ) as landing_number
        from {{ manifest }}
        where status = 'loaded'
    ) as loaded
    where landing_number = 1
{%- endmacro %}
