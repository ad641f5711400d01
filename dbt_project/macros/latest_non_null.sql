{#- The most recent non-null value of a column within a partition, as a window
    expression. Portable stand-in for last_value(... ignore nulls), which
    PostgreSQL lacks: nulls sort last, then the newest row first. -#}
{% macro latest_non_null(column, partition_by, newest_first) -%}
    first_value({{ column }}) over (
        partition by {{ partition_by }}
        order by
            case when {{ column }} is null then 1 else 0 end,
            {{ newest_first }}
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}
