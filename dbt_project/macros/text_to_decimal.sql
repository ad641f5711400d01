{#- Text to decimal(18, 4), or null when it is not a plain decimal number
    (no thousands separators, no exponent, at most 14 integer digits). -#}
{% macro text_to_decimal(expression) -%}
    case
        when
            {{ matches_pattern(
                expression, '^[+-]?([0-9]{1,14}([.][0-9]*)?|[.][0-9]+)$'
            ) }}
            then cast({{ expression }} as decimal(18, 4))
    end
{%- endmacro %}
