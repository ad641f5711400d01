{#- The distinct keys (carts, orders) that events of loads newer than the
    model's watermark touch: incremental facts rebuild exactly those. -#}
{% macro keys_touched_by_new_loads(events, key) -%}
    select distinct {{ key }}
    from {{ events }}
    where load_id > (select coalesce(max(last_load_id), '') from {{ this }})
{%- endmacro %}
