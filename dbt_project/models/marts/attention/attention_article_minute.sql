{{
    config(
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ create_index(['minute_start'], include=['article_id', "
            ~ "'details_view_count', 'transaction_item_count']) }}",
            {"sql": "{{ refresh_statistics() }}", "transaction": false},
        ],
        **keyed_incremental(['article_id', 'minute_start']),
    )
}}

-- Detail views and order lines per article and minute: the pre-aggregate
-- behind the 4-hour windows and the trailing "last 4 hours" query.
-- Incremental: each run adds the events of new loads to the minutes they
-- occurred in (late events included); an event is counted once because the
-- deduplicated event table only ever gains new events. A table built before
-- it had the watermark column is recounted once from every event.
{% set adding = is_incremental() and relation_has_column(this, 'last_staged_at') %}

with attention_events as (
    select * from {{ ref('int_shop_events_deduplicated') }}
    where
        event_type in ('DETAILS_VIEW', 'ORDER_DETAILS')
        and article_id is not null
),

events as (
    select * from attention_events
    {% if adding %}
        where {{ staged_since_last_build() }}
    {% endif %}
),

new_counts as (
    select
        article_id,
        cast({{ dbt.date_trunc('minute', 'occurred_at') }} as timestamp)
            as minute_start,
        sum(case when event_type = 'DETAILS_VIEW' then 1 else 0 end)
            as details_view_count,
        sum(case when event_type = 'ORDER_DETAILS' then 1 else 0 end)
            as transaction_item_count,
        max(load_id) as last_load_id,
        max(staged_at) as last_staged_at
    from events
    group by
        article_id,
        cast({{ dbt.date_trunc('minute', 'occurred_at') }} as timestamp)
),

{% if adding %}
    counted_before as (
        select this_table.*
        from {{ this }} as this_table
        inner join new_counts
            on
                this_table.article_id = new_counts.article_id
                and this_table.minute_start = new_counts.minute_start
    ),

    combined as (
        select * from new_counts
        union all
        select
            article_id,
            minute_start,
            details_view_count,
            transaction_item_count,
            last_load_id,
            last_staged_at
        from counted_before
    ),
{% else %}
    combined as (
        select * from new_counts
    ),
{% endif %}

final as (
    select
        cast(article_id as {{ text_type() }}) as article_id,
        minute_start,
        cast(sum(details_view_count) as bigint) as details_view_count,
        cast(sum(transaction_item_count) as bigint) as transaction_item_count,
        cast(max(last_load_id) as {{ text_type() }}) as last_load_id,
        max(last_staged_at) as last_staged_at
    from combined
    group by article_id, minute_start
)

select * from final
