{#- Delivered text without the blanks around it, null when nothing is left.
    One set of blanks on every engine: space, tab, line breaks, no-break
    spaces (U+00A0, U+2007, U+202F) and a stray byte-order mark (U+FEFF).
    PostgreSQL's trim() removes only spaces and DuckDB's also no-break
    spaces, so a key delivered as 'K1<NBSP>' would otherwise differ between
    engines. -#}
{% macro clean_text(expression) -%}
    {%- set blanks = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"
        ~ " || chr(8199) || chr(8239) || chr(65279)" -%}
    nullif({{ adapter.dispatch('trim_characters')(expression, blanks) }}, '')
{%- endmacro %}

{% macro default__trim_characters(expression, characters) -%}
    btrim({{ expression }}, {{ characters }})
{%- endmacro %}

{% macro duckdb__trim_characters(expression, characters) -%}
    trim({{ expression }}, {{ characters }})
{%- endmacro %}

{% macro spark__trim_characters(expression, characters) -%}
    trim(both {{ characters }} from {{ expression }})
{%- endmacro %}
