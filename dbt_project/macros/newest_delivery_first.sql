{#- "The most recently ingested delivery wins", as an order by: the latest
    ingest run's load first, then within one load the file modified last
    (then its name, for a stable order). Every upsert and "latest attribute"
    ranks deliveries with this. -#}
{% macro newest_delivery_first() -%}
    load_id desc, file_modified_at desc, file_name desc
{%- endmacro %}
