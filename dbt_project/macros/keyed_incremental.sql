{#- The config of an incremental mart that rebuilds the keys new loads touch
    (the rule: macros rows_of_keys_touched_by_new_loads and
    staged_since_last_build). How the rebuilt rows replace the old depends on
    the engine:
    - DuckDB, PostgreSQL: delete+insert on `unique_key`.
    - Spark on a table format with merge (WAREHOUSE_SPARK_TABLE_FORMAT delta,
      iceberg or hudi; their jars on the cluster): merge on `unique_key`.
    - Spark on plain Parquet, which can neither delete nor merge: a mart with
      a `partition_by` column overwrites the partitions new loads touch, each
      rebuilt from all its rows (insert_overwrite, dynamic partitions); a mart
      without one is rebuilt whole (a table), since overwriting an
      unpartitioned table with rows read from itself loses them. -#}
{% macro keyed_incremental(unique_key, partition_by=none) -%}
    {%- if target.type != 'spark' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': unique_key,
        }) }}
    {%- endif -%}
    {%- set table_format = env_var('WAREHOUSE_SPARK_TABLE_FORMAT', 'parquet') -%}
    {%- if table_format in ('delta', 'iceberg', 'hudi') -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'merge',
            'unique_key': unique_key,
        }) }}
    {%- elif partition_by -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'insert_overwrite',
            'partition_by': partition_by,
        }) }}
    {%- endif -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{#- The columns whose values an incremental run rebuilds: the key columns, or,
    on a model that overwrites whole partitions, its partition columns (every
    row of a touched partition is rewritten, so all of them are rebuilt). -#}
{% macro recomputed_columns(key_columns) -%}
    {%- if config.get('incremental_strategy') == 'insert_overwrite' -%}
        {%- set partition_by = config.get('partition_by') -%}
        {{ return([partition_by] if partition_by is string else partition_by) }}
    {%- endif -%}
    {{ return(key_columns) }}
{%- endmacro %}
