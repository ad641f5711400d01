{#- The distinct keys (carts, orders, SKUs, ...) that rows staged since the
    model last built touch: incremental models rebuild exactly those. -#}
{% macro keys_touched_by_new_loads(rows, key) -%}
    select distinct {{ key }}
    from {{ rows }}
    where {{ staged_since_last_build() }}
{%- endmacro %}
