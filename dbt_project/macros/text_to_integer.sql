{#- Text to bigint, or null when the text is not a whole number or has more
    than 18 digits (after leading zeros): bigint holds every 18-digit number,
    so this never raises. One rule on every engine (DuckDB's try_cast would
    round '3.5' to 4). -#}
{% macro text_to_integer(expression) -%}
    case
        when {{ matches_pattern(expression, number_text_pattern('whole', 18)) }}
            then cast({{ expression }} as bigint)
    end
{%- endmacro %}
