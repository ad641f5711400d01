{#- The most recent non-null value of a column within a partition, as a window
    expression over rows ordered newest first. PostgreSQL lacks
    first_value(... ignore nulls), so there nulls sort last instead (one sort
    per column); DuckDB shares one sort between all such columns. -#}
{% macro latest_non_null(column, partition_by, newest_first) -%}
    {{ return(adapter.dispatch('latest_non_null')(column, partition_by, newest_first)) }}
{%- endmacro %}

{% macro default__latest_non_null(column, partition_by, newest_first) -%}
    first_value({{ column }}) over (
        partition by {{ partition_by }}
        order by
            case when {{ column }} is null then 1 else 0 end,
            {{ newest_first }}
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{% macro duckdb__latest_non_null(column, partition_by, newest_first) -%}
    first_value({{ column }} ignore nulls) over (
        partition by {{ partition_by }}
        order by {{ newest_first }}
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}
