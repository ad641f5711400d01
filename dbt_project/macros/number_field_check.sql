{#- Why a delivered number is rejected, or null when it is accepted: missing
    (only when missing_reason is given), not a plain number (invalid_reason,
    by default "<name> is not a decimal number / a whole number"), or outside
    its accepted range (accepted_range_check). `value` is the typed column,
    `text` the value as delivered (it may be null wherever value is not);
    the reasons are SQL expressions. kind: money (a decimal) or count (a
    whole number). -#}
{% macro number_field_check(
    name, value, text, kind, missing_reason=none, invalid_reason=none
) -%}
    {%- set invalid_reason = invalid_reason or sql_text(
        name ~ (' is not a decimal number' if kind == 'money' else ' is not a whole number')
    ) -%}
    case
        when {{ value }} is not null or {{ text }} is not null
            then coalesce(
                {{ accepted_range_check(kind, value, name, text) }},
                {#- null, and not a plain number of any size -#}
                case when {{ value }} is null then {{ invalid_reason }} end
            )
        {%- if missing_reason %}
            else {{ missing_reason }}
        {%- endif %}
    end
{%- endmacro %}
