{#- A lateral join that parses `document` (text known to be a JSON object, or
    null; the ingest checked it) once per row into `alias`, a row of the named
    top-level fields as text (null when absent): read them as alias.field.
    Reading fields with `->>` from one parsed expression re-parses the text for
    every field, because the planner copies the expression into each use: on
    PostgreSQL 12 fields of 500,000 events took 11.9 s so and 1.8 s with
    jsonb_to_record; on DuckDB 1.8 s and 0.7 s at a million events. -#}
{% macro json_record_join(document, fields, alias) -%}
    {{ return(adapter.dispatch('json_record_join')(document, fields, alias)) }}
{%- endmacro %}

{% macro default__json_record_join(document, fields, alias) -%}
    left join lateral jsonb_to_record(cast({{ document }} as jsonb)) as {{ alias }} (
        {%- for field in fields %}
        {{ field }} text{{ ',' if not loop.last }}
        {%- endfor %}
    ) on true
{%- endmacro %}

{% macro duckdb__json_record_join(document, fields, alias) -%}
    {%- set shape = {} -%}
    {%- for field in fields -%}
        {%- do shape.update({field: 'VARCHAR'}) -%}
    {%- endfor -%}
    left join lateral (
        select unnest(json_transform({{ document }}, '{{ tojson(shape) }}'))
    ) as {{ alias }} on true
{%- endmacro %}

{#- Spark: json_tuple parses the text once per row into all the fields (as
    text); `outer` keeps the rows whose text is null. It is a lateral view,
    which Spark writes after the from item it reads: the macro's callers put
    it last in their from clause. -#}
{% macro spark__json_record_join(document, fields, alias) -%}
    lateral view outer json_tuple({{ document }}, '{{ fields | join("', '") }}') {{ alias }} as
    {{ fields | join(', ') }}
{%- endmacro %}
