{#- on-run-start, Spark only: dlt lands raw as files (Parquet; its own _dlt_
    tables as JSON lines) under WAREHOUSE_SPARK_RAW_URL, one folder per table.
    Each raw source becomes an external table over its folder. It is created
    anew on every run, which costs only the catalog entry (the files stay):
    Spark fixes a table's columns when it is created, and a column dlt adds
    later, or a file of a later load, must be seen. The names come from the
    source definitions, never from files. Other engines read raw as it lands. -#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
    select 1 as raw_tables_are_native
{%- endmacro %}

{% macro spark__register_raw_tables() -%}
    {%- if execute -%}
        {%- set lake = env_var('WAREHOUSE_SPARK_RAW_URL') ~ '/' ~ var('raw_schema') -%}
        {%- do run_query('create database if not exists ' ~ var('raw_schema')) -%}
        {%- for source in graph.sources.values()
            if source.schema == var('raw_schema') -%}
            {%- set table = var('raw_schema') ~ '.' ~ source.identifier -%}
            {#- JSON has no timestamp type: Spark infers one from ISO 8601 text -#}
            {%- set file_format = "json options (inferTimestamp 'true')"
                if source.identifier.startswith('_dlt_') else 'parquet' -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using ' ~ file_format
                ~ " location '" ~ lake ~ '/' ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as raw_tables_registered
{%- endmacro %}
