{#- post_hook: an index for the lookups incremental runs and BI queries make.
    PostgreSQL needs it; DuckDB's hash joins and zone maps do without, and an
    ART index there would only cost memory and insert time. -#}
{% macro create_index(columns) -%}
    {{ return(adapter.dispatch('create_index')(columns)) }}
{%- endmacro %}

{% macro default__create_index(columns) -%}
    create index if not exists
    {{ this.identifier ~ '__' ~ (columns | join('__')) ~ '__idx' }}
    on {{ this }} ({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__create_index(columns) -%}
    select 1 as no_index_needed
{%- endmacro %}
