{#- post_hook: an index for the lookups incremental runs and BI queries make.
    `include` adds payload columns so a range scan never visits the table.
    PostgreSQL needs it; DuckDB's hash joins and zone maps do without, and an
    ART index there would only cost memory and insert time. -#}
{% macro create_index(columns, include=none) -%}
    {{ return(adapter.dispatch('create_index')(columns, include)) }}
{%- endmacro %}

{% macro default__create_index(columns, include=none) -%}
    create index if not exists
    {{ this.identifier ~ '__' ~ (columns | join('__')) ~ '__idx' }}
    on {{ this }} ({{ columns | join(', ') }})
    {%- if include %} include ({{ include | join(', ') }}){% endif %}
{%- endmacro %}

{% macro duckdb__create_index(columns, include=none) -%}
    select 1 as no_index_needed
{%- endmacro %}
