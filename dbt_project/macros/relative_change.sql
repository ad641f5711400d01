{#- (current - previous) / previous: the change of a figure against an earlier
    period as a share of it (0.25 = 25 % more), null when there is nothing to
    compare with (previous null, 0 or negative). The same rule as safe_ratio,
    but in decimal(38, 6): safe_ratio casts its numerator to decimal(18, 6),
    whose 12 integer digits a month of GMV in a weak currency (1e12 VND is
    40 million USD) can exceed. -#}
{% macro relative_change(current, previous) -%}
    case
        when {{ previous }} > 0
            then
                cast(({{ current }}) - ({{ previous }}) as decimal(38, 6))
                / ({{ previous }})
    end
{%- endmacro %}
