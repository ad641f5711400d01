{#- post_hook: an index for the lookups incremental runs and BI queries make.
    `include` adds payload columns so a range scan never visits the table;
    `where` makes a partial index (e.g. of the few rejected rows).
    PostgreSQL needs it; DuckDB's hash joins and zone maps do without, and an
    ART index there would only cost memory and insert time. -#}
{% macro create_index(columns, include=none, where=none) -%}
    {{ return(adapter.dispatch('create_index')(columns, include, where)) }}
{%- endmacro %}

{% macro default__create_index(columns, include=none, where=none) -%}
    create index if not exists
    {{ this.identifier ~ '__' ~ (columns | join('__')) ~ ('__partial' if where else '') ~ '__idx' }}
    on {{ this }} ({{ columns | join(', ') }})
    {%- if include %} include ({{ include | join(', ') }}){% endif %}
    {%- if where %} where {{ where }}{% endif %}
{%- endmacro %}

{% macro duckdb__create_index(columns, include=none, where=none) -%}
    select 1 as no_index_needed
{%- endmacro %}

{#- Spark tables have no indexes: Parquet's row-group statistics and the
    partitions prune instead. -#}
{% macro spark__create_index(columns, include=none, where=none) -%}
    select 1 as no_index_needed
{%- endmacro %}
