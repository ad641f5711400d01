{#- The staged_at of rows a landed model takes in this build: the build's
    start time, kept strictly after every batch already staged (even if the
    clock steps back), so a batch never sorts before one that downstream
    models have already read (see staged_since_last_build). -#}
{% macro staging_batch_time() -%}
    {%- set started = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')
        ~ "' as timestamp)" -%}
    greatest(
        {{ started }},
        coalesce(
            {{ dbt.dateadd('second', 1, newest_staged_at('staged_at')) }},
            {{ started }}
        )
    )
{%- endmacro %}
