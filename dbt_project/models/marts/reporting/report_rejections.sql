-- What the warehouse turned away, by kind and reason, for `warehouse report`:
-- marketplace files (quarantined whole), marketplace rows and web-shop events
-- (each kept with its reason in its quality mart).
with deliveries as (
    select * from {{ ref('marketplace_file_deliveries') }}
    where status = 'rejected'
),

rejected_rows as (
    select * from {{ ref('marketplace_rejected_rows') }}
),

rejected_events as (
    select * from {{ ref('shop_rejected_events') }}
),

per_reason as (
    select
        'marketplace files' as rejected_what,
        reason as rejection_reason,
        count(*) as rejected_count
    from deliveries
    group by reason

    union all

    select
        'marketplace rows' as rejected_what,
        rejection_reason,
        count(*) as rejected_count
    from rejected_rows
    group by rejection_reason

    union all

    select
        'web-shop events' as rejected_what,
        rejection_reason,
        count(*) as rejected_count
    from rejected_events
    group by rejection_reason
),

final as (
    select
        cast(rejected_what as {{ text_type() }}) as rejected_what,
        cast(rejection_reason as {{ text_type() }}) as rejection_reason,
        cast(rejected_count as bigint) as rejected_count
    from per_reason
)

select * from final
