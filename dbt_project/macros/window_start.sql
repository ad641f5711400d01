{#- Start of the fixed window of `hours` hours (aligned to midnight UTC:
    00:00, 04:00, ... for 4) that a timestamp falls in. -#}
{% macro window_start(timestamp, hours=4) -%}
    {{ dbt.dateadd(
        'hour',
        'cast(floor(extract(hour from ' ~ timestamp ~ ') / ' ~ hours ~ ') * ' ~ hours
            ~ ' as integer)',
        'cast(' ~ dbt.date_trunc('day', timestamp) ~ ' as timestamp)'
    ) }}
{%- endmacro %}
