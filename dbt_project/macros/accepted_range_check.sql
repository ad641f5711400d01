{#- The one reader of the `accepted_ranges` var (dbt_project.yml): the reason
    a value is outside its accepted range, as text, or null when it is inside
    (or null). kind:
    - money, count: `value` is a number; |value| must be below max_abs. With
      `text` (the value as delivered), a plain number the cast left null (too
      many digits for its type) is outside the range too: the casts hold
      every value the range allows, which is checked here when compiling.
    - report_date (a date) and occurred_at (a UTC timestamp, by its day):
      `value` must lie between min and max; the reason quotes `text`.
    `name` is the field the reason names; `subject`, what is out of range
    when it is not the field itself (a key's total, a product). -#}
{% macro accepted_range_check(kind, value, name, text=none, subject=none) -%}
    {%- set bounds = accepted_range_bounds(kind) -%}
    {%- set subject = subject or name -%}
    {%- if kind in ('money', 'count') -%}
        {%- set reason = subject ~ ' is outside the accepted range (|' ~ name
            ~ '| < ' ~ '{:,}'.format(bounds.max_abs) ~ ')' -%}
        case
            when abs({{ value }}) >= {{ bounds.max_abs }} then {{ sql_text(reason) }}
            {%- if text is not none %}
                when
                    {{ value }} is null
                    and {{ matches_pattern(text, number_text_pattern(bounds.pattern)) }}
                    then {{ sql_text(reason) }}
            {%- endif %}
        end
    {%- else -%}
        {%- set accepted = ' (accepted: ' ~ bounds.min ~ ' to ' ~ bounds.max
            ~ (', UTC days)' if kind == 'occurred_at' else ')') -%}
        {%- set quoted = name ~ " ' || " ~ text ~ " || ' " -%}
        case
            when {{ value }} < {{ bounds.lower }}
                then '{{ quoted }}is before {{ bounds.min }}{{ accepted }}'
            when {{ value }} >= {{ bounds.upper }}
                then '{{ quoted }}is after {{ bounds.max }}{{ accepted }}'
        end
    {%- endif -%}
{%- endmacro %}

{#- The bounds of one kind as Jinja values, checked: max_abs (an integer)
    and the number pattern of money and count; min, max (ISO dates) and the
    SQL literals `lower` (inclusive) and `upper` (exclusive: the day after
    max) of the day ranges. -#}
{% macro accepted_range_bounds(kind) -%}
    {%- set ranges = var('accepted_ranges') -%}
    {%- if kind not in ranges -%}
        {{ exceptions.raise_compiler_error(
            "accepted_ranges has no range '" ~ kind ~ "' (dbt_project.yml vars)") }}
    {%- endif -%}
    {%- set declared = ranges[kind] -%}
    {%- if kind in ('money', 'count') -%}
        {#- what text_to_decimal / text_to_integer can hold -#}
        {%- set cast_limit = 10 ** 13 if kind == 'money' else 10 ** 18 -%}
        {%- set max_abs = declared['max_abs'] | int -%}
        {%- if max_abs <= 0 or max_abs > cast_limit -%}
            {{ exceptions.raise_compiler_error(
                "accepted_ranges." ~ kind ~ ".max_abs must be between 1 and "
                ~ cast_limit ~ ", the most its cast holds") }}
        {%- endif -%}
        {{ return({
            'max_abs': max_abs,
            'pattern': 'decimal' if kind == 'money' else 'whole',
        }) }}
    {%- elif kind in ('report_date', 'occurred_at') -%}
        {%- set first = modules.datetime.date.fromisoformat(declared['min'] | string) -%}
        {%- set last = modules.datetime.date.fromisoformat(declared['max'] | string) -%}
        {%- if last < first -%}
            {{ exceptions.raise_compiler_error(
                "accepted_ranges." ~ kind ~ ": max is before min") }}
        {%- endif -%}
        {%- set type = 'timestamp' if kind == 'occurred_at' else 'date' -%}
        {%- set day_after = last + modules.datetime.timedelta(days=1) -%}
        {{ return({
            'min': first.isoformat(),
            'max': last.isoformat(),
            'first': first,
            'last': last,
            'lower': "cast('" ~ first.isoformat() ~ "' as " ~ type ~ ")",
            'upper': "cast('" ~ day_after.isoformat() ~ "' as " ~ type ~ ")",
        }) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("accepted_range_bounds: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}

{#- The number of days from the first accepted day (report_date or
    occurred_at) to the last: dim_date must be able to generate them all. -#}
{% macro accepted_day_span() -%}
    {%- set report_days = accepted_range_bounds("report_date") -%}
    {%- set event_days = accepted_range_bounds("occurred_at") -%}
    {%- set first = [report_days.first, event_days.first] | min -%}
    {%- set last = [report_days.last, event_days.last] | max -%}
    {{ return((last - first).days + 1) }}
{%- endmacro %}

{#- A Jinja string as an SQL string literal. -#}
{% macro sql_text(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
