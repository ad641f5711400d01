{#- The one currency conversion every USD figure uses: an amount in its own
    currency divided by that currency's units per USD on the amount's day
    (int_fx_rates_daily). Without a rate the result is null, never 0 or a
    guess; fx_missing_rates lists every such (currency, day). -#}
{% macro to_usd(amount, units_per_usd) -%}
    ({{ amount }}) / nullif({{ units_per_usd }}, 0)
{%- endmacro %}

{#- The sum of converted amounts, or null as soon as one amount that is there
    could not be converted: a partial sum would look like a real total. -#}
{% macro sum_usd(amount_usd, amount) -%}
    case
        when count({{ amount }}) = count({{ amount_usd }}) then sum({{ amount_usd }})
    end
{%- endmacro %}
