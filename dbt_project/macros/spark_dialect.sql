{#- Where Spark's SQL differs from what dbt's own macros write for it. -#}

{#- The contracts declare text columns `varchar`, as DuckDB and PostgreSQL
    name them; Spark's text type is `string` (a bare `varchar` is an error
    there), which is what text_type() casts the marts' columns to. -#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set spark_columns = {} -%}
    {%- for name, column in columns.items() -%}
        {%- set spark_column = column.copy() -%}
        {%- if (column.get('data_type') or '').strip().lower() == 'varchar' -%}
            {%- do spark_column.update({'data_type': 'string'}) -%}
        {%- endif -%}
        {%- do spark_columns.update({name: spark_column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(spark_columns)) }}
{%- endmacro %}

{#- dbt-spark's listagg drops the order by; Spark 4 has listagg itself. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error('listagg with a limit is not written for Spark') }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}

{#- Spark's optimizer reads no statistics unless told to (cost-based
    optimization is off by default): nothing to refresh. -#}
{% macro spark__refresh_statistics() -%}
    select 1 as no_statistics_needed
{%- endmacro %}

{#- dbt-spark's dateadd goes through whole unix seconds, dropping fractions of
    a second (an event's 07:15:30.250 became 07:15:30), and raises on a null;
    Spark's timestampadd keeps both, for every part dbt names. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
