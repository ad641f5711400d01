{#- numerator / denominator as a decimal rate, null when nothing was counted.
    The shop's rates (cart conversion, payment completion) all use this. -#}
{% macro safe_ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast({{ numerator }} as decimal(18, 6)) / {{ denominator }}
    end
{%- endmacro %}
