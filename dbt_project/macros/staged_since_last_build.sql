{#- The incremental watermark, written once. The landed models
    (int_*_landed) stamp every row with the time the build that took it
    started (`staged_at`, see staging_batch_time); every incremental model
    downstream reads the rows staged after the newest it holds. dlt load ids
    cannot serve as the watermark: loads may complete out of order (two
    ingests at once, a slow COPY), and a load that completes after a later
    one would sort behind a watermark that had already passed it. A model
    built before it had the watermark column reads everything once (the
    column is appended). -#}
{% macro staged_since_last_build(staged_at='staged_at', watermark='last_staged_at') -%}
    {{ staged_at }} > coalesce(
        {{ newest_staged_at(watermark) }}, cast('1900-01-01' as timestamp)
    )
{%- endmacro %}

{#- The newest watermark the model holds (null when empty or when the model
    predates the watermark column). -#}
{% macro newest_staged_at(watermark='last_staged_at') -%}
    {%- if is_incremental() and relation_has_column(this, watermark) -%}
        (select max({{ watermark }}) from {{ this }})
    {%- else -%}
        cast(null as timestamp)
    {%- endif -%}
{%- endmacro %}
