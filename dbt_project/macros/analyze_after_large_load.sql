{#- post_hook: the planner's statistics of a big incremental table, refreshed
    after a large load. A table dbt has just created has none, and
    autovacuum (off on some servers, late on busy ones) analyzes it only
    later: without them PostgreSQL scanned all 10M landed events for each data
    test instead of using the staged_at index (1.3 s -> 0.06 s a test).
    Analyzes as autovacuum would: a table never analyzed, or one whose rows
    changed by more than a tenth since its last analyze (earlier builds'
    changes: this build's are not counted yet inside its transaction), so a
    +1 % build does not pay for it. DuckDB keeps its statistics itself. -#}
{% macro analyze_after_large_load() -%}
    {{ return(adapter.dispatch('analyze_after_large_load')()) }}
{%- endmacro %}

{% macro default__analyze_after_large_load() -%}
    select 1 as statistics_kept_by_the_engine
{%- endmacro %}

{% macro postgres__analyze_after_large_load() -%}
    {%- set stale = false -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select coalesce(stats.last_analyze, stats.last_autoanalyze) is null"
            ~ " or stats.n_mod_since_analyze > 50 + 0.1 * class.reltuples"
            ~ " from pg_stat_user_tables as stats"
            ~ " inner join pg_class as class on stats.relid = class.oid"
            ~ " where stats.relid = to_regclass('" ~ this ~ "')"
        ) -%}
        {%- set stale = found.rows | length > 0 and found.rows[0][0] -%}
    {%- endif -%}
    {%- if stale -%}
        analyze {{ this }}
    {%- else -%}
        select 1 as statistics_fresh
    {%- endif -%}
{%- endmacro %}
