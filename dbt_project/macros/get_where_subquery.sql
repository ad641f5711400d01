{#- dbt calls this for the model a generic data test checks. Besides a test's
    own `where` config, the scope `data_tests_scope` (default `all`) can narrow
    every test to the rows of new loads: with `new_loads` (what `warehouse
    run` and the scheduled Dagster runs set) a test looks only at the rows
    this build staged or recomputed, i.e. whose `last_staged_at` (marts) or
    `staged_at` (landed rows) is at or after the build's start (see
    staging_batch_time). A model with neither column is tested whole. `warehouse
    build`, `make test`, CI and the nightly Dagster job test everything. -#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set new_rows = new_loads_filter(relation) -%}
    {%- if new_rows -%}
        {%- do filters.append(new_rows) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where '
            ~ (filters | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The filter on the rows of new loads, or '' to test every row. The scope is
    the var, else the environment variable WAREHOUSE_DATA_TESTS_SCOPE (what the
    warehouse's own runs set: unlike a var that changes between invocations,
    it makes dbt parse nothing again), else `all`. Read only while tests run
    (`execute`), so parsing never depends on it. -#}
{% macro new_loads_filter(relation) -%}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set scope = var(
        'data_tests_scope', env_var('WAREHOUSE_DATA_TESTS_SCOPE', 'all')
    ) -%}
    {%- if scope not in ['all', 'new_loads'] -%}
        {{ exceptions.raise_compiler_error(
            "data_tests_scope must be 'all' or 'new_loads', not '" ~ scope ~ "'"
        ) }}
    {%- endif -%}
    {%- if scope == 'all' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set build_started = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')
        ~ "' as timestamp)" -%}
    {%- set columns = documented_columns(relation) -%}
    {%- for column in ['last_staged_at', 'staged_at'] -%}
        {%- if column in columns -%}
            {%- do return(column ~ ' >= ' ~ build_started) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return('') -%}
{%- endmacro %}

{#- The columns the yml files document for the model, seed, snapshot or source
    behind `relation` (every column is documented, and contracts hold the
    marts to theirs): read from the graph, as asking the database for every
    test would cost a query each. -#}
{% macro documented_columns(relation) -%}
    {%- set rendered = relation | string -%}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- if node.get('relation_name') == rendered -%}
            {%- do return(node.columns.keys() | map('lower') | list) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return([]) -%}
{%- endmacro %}
