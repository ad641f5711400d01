{#- Text in YYYY-MM-DD to a date, or null when it is not a real calendar day
    of the years 0001 to 9999 (the same on every engine; year 0000 does not
    exist). Which days are accepted is accepted_range_check's business.
    PostgreSQL has no try_cast, so its version checks the day against the
    month's length before casting (a CASE evaluates its branches in order). -#}
{% macro text_to_date(expression) -%}
    {{ return(adapter.dispatch('text_to_date')(expression)) }}
{%- endmacro %}

{% macro default__text_to_date(expression) -%}
    case
        when
            {{ matches_pattern(
                expression, '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
            ) }}
            and substr({{ expression }}, 1, 4) <> '0000'
            then
                case
                    when
                        cast(substr({{ expression }}, 9, 2) as integer)
                        <= extract(day from (
                            make_date(
                                cast(substr({{ expression }}, 1, 4) as integer),
                                cast(substr({{ expression }}, 6, 2) as integer),
                                1
                            )
                            + interval '1 month' - interval '1 day'
                        ))
                        then cast({{ expression }} as date)
                end
    end
{%- endmacro %}

{% macro duckdb__text_to_date(expression) -%}
    case
        when
            {{ matches_pattern(expression, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') }}
            and substr({{ expression }}, 1, 4) <> '0000'
            then try_cast({{ expression }} as date)
    end
{%- endmacro %}
