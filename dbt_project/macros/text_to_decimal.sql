{#- Text to decimal(18, 4), or null when it is not a plain decimal number
    (no thousands separators, no exponent) or has more than 13 integer digits
    (after leading zeros). decimal(18, 4) holds 14: with 13, rounding to four
    places can carry into the 14th (9999999999999.99995 -> 10000000000000)
    but never overflow, so this never raises, whatever the text. -#}
{% macro text_to_decimal(expression) -%}
    case
        when
            {{ matches_pattern(expression, number_text_pattern('decimal', 13)) }}
            then cast({{ expression }} as decimal(18, 4))
    end
{%- endmacro %}
