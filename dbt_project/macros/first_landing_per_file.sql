{#- One row per accepted delivery of an ingest manifest, with the load that
    landed it, counting only loads dlt completed. A delivery is identified by
    `delivery_key`: the file's bytes, and for marketplace files also the
    marketplace and country its name gives. Should a delivery land twice (a
    retried load, two ingests at once), the load that completed first is the
    delivery: the one an incremental build staged. -#}
{% macro first_landing_per_file(manifest, completed_loads, delivery_key=['file_hash']) -%}
    select *
    from (
        select
            {{ manifest }}.*,
            row_number() over (
                partition by
                    {%- for column in delivery_key %}
                    {{ manifest }}.{{ column }}{{ ',' if not loop.last }}
                    {%- endfor %}
                order by
                    {{ completed_loads }}.inserted_at,
                    {{ manifest }}.load_id,
                    {{ manifest }}.seen_at
            ) as landing_number
        from {{ manifest }}
        inner join {{ completed_loads }}
            on {{ manifest }}.load_id = {{ completed_loads }}.load_id
        where {{ manifest }}.status = 'loaded'
    ) as loaded
    where landing_number = 1
{%- endmacro %}
