{#- A top-level field of a parsed JSON object as text (null when absent). -#}
{% macro json_text(document, field) -%}
    {{ return(adapter.dispatch('json_text')(document, field)) }}
{%- endmacro %}

{% macro default__json_text(document, field) -%}
    ({{ document }} ->> '{{ field }}')
{%- endmacro %}

{% macro spark__json_text(document, field) -%}
    get_json_object({{ document }}, '$.{{ field }}')
{%- endmacro %}
