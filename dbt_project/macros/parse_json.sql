{#- Parse text that is known to be a JSON object (the ingest checked it)
    into the engine's JSON type, once, so fields can be read from it. -#}
{% macro parse_json(expression) -%}
    {{ return(adapter.dispatch('parse_json')(expression)) }}
{%- endmacro %}

{% macro default__parse_json(expression) -%}
    cast({{ expression }} as jsonb)
{%- endmacro %}

{% macro duckdb__parse_json(expression) -%}
    cast({{ expression }} as json)
{%- endmacro %}

{#- Spark has no JSON type: its JSON functions (get_json_object, json_tuple)
    read the text itself. -#}
{% macro spark__parse_json(expression) -%}
    {{ expression }}
{%- endmacro %}
