{#- The original processor's rule: a row with units sold is delivered,
    anything else (zero or returns) counts as canceled. -#}
{% macro sale_status(units_sold) -%}
    case when {{ units_sold }} > 0 then 'delivered' else 'canceled' end
{%- endmacro %}
