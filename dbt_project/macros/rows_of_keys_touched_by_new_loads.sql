{#- The rows of `rows` whose keys rows staged since the model last built
    mention (its watermark is max(last_staged_at)): what an incremental model
    keyed by `key_columns` recomputes (it deletes and re-inserts those keys,
    from all their rows, so the result equals a full build whatever order
    loads arrive in). All rows on a full build, or when the model was built
    before it had the watermark column: with
    on_schema_change='append_new_columns' it then gets the column and every
    key recomputed once. A model that overwrites partitions (Spark, see
    keyed_incremental) recomputes the partitions instead. -#}
{% macro rows_of_keys_touched_by_new_loads(rows, key_columns) -%}
    {%- set key_columns = recomputed_columns(key_columns) -%}
    {%- if is_incremental() and relation_has_column(this, 'last_staged_at') -%}
        select {{ rows }}.*
        from {{ rows }}
        inner join (
            {{ keys_touched_by_new_loads(rows, key_columns | join(', ')) }}
        ) as touched
            on
            {%- for column in key_columns %}
                {{ 'and ' if not loop.first }}{{ rows }}.{{ column }} = touched.{{ column }}
            {%- endfor %}
    {%- else -%}
        select * from {{ rows }}
    {%- endif -%}
{%- endmacro %}
