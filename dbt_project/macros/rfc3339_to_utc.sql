{#- An RFC 3339 timestamp with offset ('2026-11-01T10:15:30.123+08:00' or
    '...Z') as a UTC timestamp without time zone; null when it is not one.
    The offset is applied by arithmetic rather than a time-zone cast, so the
    result is the same on every engine (DuckDB's timestamp cast ignores it). -#}
{% macro rfc3339_to_utc(expression) -%}
    {%- set pattern = '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])'
        ~ '[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?'
        ~ '([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$' -%}
    {%- set is_utc = "upper(" ~ dbt.right(expression, "1") ~ ") = 'Z'" -%}
    {%- set local_part -%}
        substr({{ expression }}, 1, 10) || ' ' || substr(
            {{ expression }},
            12,
            length({{ expression }}) - 11 - case when {{ is_utc }} then 1 else 6 end
        )
    {%- endset -%}
    {%- set offset_minutes -%}
        case
            when {{ is_utc }} then 0
            else
                (case when {{ dbt.right(expression, "6") }} like '-%' then -1 else 1 end)
                * (
                    cast(substr({{ dbt.right(expression, "5") }}, 1, 2) as integer) * 60
                    + cast({{ dbt.right(expression, "2") }} as integer)
                )
        end
    {%- endset -%}
    case
        when {{ matches_pattern(expression, pattern) }}
            then
                case
                    when {{ text_to_date('substr(' ~ expression ~ ', 1, 10)') }} is not null
                        then {{ dbt.dateadd(
                            'minute',
                            '-1 * (' ~ offset_minutes ~ ')',
                            'cast(' ~ local_part ~ ' as timestamp)'
                        ) }}
                end
    end
{%- endmacro %}
