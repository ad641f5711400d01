{#- A filter on `column` (a file hash) that keeps the rows of the deliveries
    new_completed_deliveries finds, with the hashes written out as constants
    on an incremental build. The rows come typed from a staging view:
    PostgreSQL types only the rows the join to the new deliveries keeps, but
    DuckDB types a view's rows before a join and uses the join's keys only to
    skip row groups, which file hashes seldom allow, so without constants every
    incremental build would type every landed row again. A constant filter
    reaches the raw scan on both engines. Above `most` new deliveries (a
    backfill, typing most rows anyway) the join alone selects them. -#}
{% macro new_delivery_file_filter(
    column, manifest, completed_loads, delivery_key=['file_hash'], most=1000
) -%}
    {%- if execute and is_incremental() and this is not string -%}
        {%- set new_hashes -%}
            with manifest as (
                select * from {{ manifest }}
            ),

            completed_loads as (
                select * from {{ completed_loads }}
            )

            select distinct new_deliveries.file_hash
            from (
                {{ new_completed_deliveries(
                    'manifest', 'completed_loads', delivery_key=delivery_key
                ) }}
            ) as new_deliveries
        {%- endset -%}
        {%- set hashes = run_query(new_hashes).columns[0].values() -%}
        {%- if hashes | length == 0 -%}
            1 = 0
        {%- elif hashes | length <= most -%}
            {{ column }} in (
            {%- for hash in hashes %}
                '{{ hash | replace("'", "''") }}'{{ ',' if not loop.last }}
            {%- endfor %}
            )
        {%- else -%}
            1 = 1
        {%- endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
