-- One row per web-shop customer: when first and last seen and the shop
-- country of their latest event that names one.
with events as (
    select * from {{ ref('int_shop_events_deduplicated') }}
),

latest_country as (
    select
        customer_id,
        {{ latest_non_null(
            'country_code', 'customer_id', 'occurred_at desc, event_id desc'
        ) }} as country_code
    from events
),

countries as (
    select distinct
        customer_id,
        country_code
    from latest_country
),

activity as (
    select
        customer_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as event_count
    from events
    group by customer_id
),

final as (
    select
        cast(activity.customer_id as {{ text_type() }}) as customer_id,
        cast(countries.country_code as {{ text_type() }}) as country_code,
        activity.first_seen_at,
        activity.last_seen_at,
        cast(activity.event_count as bigint) as event_count
    from activity
    inner join countries on activity.customer_id = countries.customer_id
)

select * from final
