{#- The current time in UTC as a timestamp without time zone, evaluated when
    the query runs (so a view over it is always "now"). -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Spark's timestamps are instants shown in the session's time zone, which the
    profile sets to UTC. -#}
{% macro spark__utc_now() -%}
    current_timestamp()
{%- endmacro %}
