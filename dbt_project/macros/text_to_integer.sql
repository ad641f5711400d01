{#- Text to bigint, or null when the text is not a whole number.
    One rule on every engine (DuckDB's try_cast would round '3.5' to 4). -#}
{% macro text_to_integer(expression) -%}
    case
        when {{ matches_pattern(expression, '^[+-]?[0-9]{1,18}$') }}
            then cast({{ expression }} as bigint)
    end
{%- endmacro %}
