{#- The text type the marts' contracts declare. dbt.type_string() is `text`
    on PostgreSQL, which an incremental model would see as a type change
    against its contract's `varchar` columns. -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    string
{%- endmacro %}
