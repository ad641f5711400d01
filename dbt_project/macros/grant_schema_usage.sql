{#- on-run-end: `usage` on a schema for the role reading it (reporter on marts), so a
    schema dbt creates anew is readable too. The grants config covers the tables;
    usage on a schema has no config in dbt. Nothing without a grantee, nor on DuckDB,
    which has no roles. -#}
{% macro grant_schema_usage(schema, grantee) -%}
    {%- if grantee and target.type == 'postgres'
        and adapter.check_schema_exists(target.database, schema) -%}
        grant usage on schema {{ adapter.quote(schema) }} to {{ adapter.quote(grantee) }}
    {%- else -%}
        select 1 as no_schema_grant_needed
    {%- endif -%}
{%- endmacro %}
