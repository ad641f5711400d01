{{
    config(
        on_schema_change='append_new_columns',
        post_hook=["{{ create_index(['customer_id']) }}"],
        **keyed_incremental('customer_id'),
    )
}}

-- One row per web-shop customer: when first and last seen and the shop
-- country of their latest event that names one (ties: alphabetical).
-- Incremental: the customers that new loads mention are recomputed from all
-- their events; the others keep their row.
with all_events as {{ not_materialized() }} (
    select * from {{ ref('int_shop_events_deduplicated') }}
),

events as (
    {{ rows_of_keys_touched_by_new_loads('all_events', ['customer_id']) }}
),

country_last_seen as (
    -- aggregate first: picking the latest country then sorts a few rows per
    -- customer instead of every event
    select
        customer_id,
        country_code,
        max(occurred_at) as last_seen_at
    from events
    where country_code is not null
    group by customer_id, country_code
),

countries as (
    select
        customer_id,
        country_code,
        row_number() over (
            partition by customer_id order by last_seen_at desc, country_code asc
        ) as recency
    from country_last_seen
),

activity as (
    select
        customer_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as event_count,
        max(staged_at) as last_staged_at
    from events
    group by customer_id
),

final as (
    select
        cast(activity.customer_id as {{ text_type() }}) as customer_id,
        cast(countries.country_code as {{ text_type() }}) as country_code,
        activity.first_seen_at,
        activity.last_seen_at,
        cast(activity.event_count as bigint) as event_count,
        activity.last_staged_at
    from activity
    left join countries
        on
            activity.customer_id = countries.customer_id
            and countries.recency = 1
)

select * from final
