{#- The regular expression of a plain number as delivered text: a decimal
    (kind 'decimal': no thousands separators, no exponent) or a whole number
    (kind 'whole'), leading zeros allowed. With max_integer_digits, only
    numbers with at most that many integer digits (after leading zeros)
    match: what a cast can hold. Without, any size: how the validation tells
    "not a number" from "a number too large to accept". -#}
{% macro number_text_pattern(kind, max_integer_digits=none) -%}
    {%- set digits = ('{1,' ~ max_integer_digits ~ '}') if max_integer_digits else '+' -%}
    {%- if kind == 'decimal' -%}
        {{ return('^[+-]?0*([0-9]' ~ digits ~ '([.][0-9]*)?|[.][0-9]+)$') }}
    {%- elif kind == 'whole' -%}
        {{ return('^[+-]?0*[0-9]' ~ digits ~ '$') }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("number_text_pattern: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}
