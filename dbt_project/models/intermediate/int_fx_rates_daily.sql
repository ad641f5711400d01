{{ config(materialized='table') }}

-- Units of each currency per US dollar, for every day a rate is known: the
-- ECB's cross rate (units per euro / US dollars per euro, both of the same
-- day), the last published rate carried over weekends and holidays for at
-- most var('fx_rate_max_carry_days') days, and where the user's overrides
-- seed (fx_rate_overrides) covers a day, its rate instead. A day with no rate
-- is simply absent: conversions then give null (macro to_usd), never a guess.
with ecb_rates as (
    select * from {{ ref('stg_ecb__euro_reference_rates') }}
),

overrides as (
    select * from {{ ref('fx_rate_overrides') }}
),

digits as (
    select * from {{ ref('digits') }}
),

-- each quote beside the US dollar's of the same day: a window, not a join,
-- so no engine can pick a slow join plan for a freshly loaded raw table
quoted as (
    select
        currency_code,
        rate_date,
        units_per_eur,
        max(
            case when currency_code = 'USD' then units_per_eur end
        ) over (partition by rate_date) as usd_per_eur
    from ecb_rates
    where units_per_eur > 0
),

published as (
    select
        currency_code,
        rate_date,
        units_per_eur / usd_per_eur as units_per_usd
    from quoted
    where usd_per_eur is not null
    union all
    -- the euro itself, which the ECB's table is quoted in
    select
        'EUR' as currency_code,
        rate_date,
        1 / usd_per_eur as units_per_usd
    from quoted
    where currency_code = 'USD'
),

published_until as (
    select
        published.*,
        lead(published.rate_date) over (
            partition by published.currency_code order by published.rate_date
        ) as next_published_on
    from published
),

carry_days as (
    select digit as days_after
    from digits
    where digit <= {{ var('fx_rate_max_carry_days') }}
),

ecb_daily as (
    select
        published_until.currency_code,
        cast(
            {{ dbt.dateadd(
                'day', 'carry_days.days_after', 'published_until.rate_date'
            ) }} as date
        ) as rate_date,
        published_until.units_per_usd,
        published_until.rate_date as published_on,
        cast('ECB' as {{ text_type() }}) as rate_source
    from published_until
    cross join carry_days
    where
        published_until.next_published_on is null
        or {{ dbt.dateadd(
            'day', 'carry_days.days_after', 'published_until.rate_date'
        ) }} < published_until.next_published_on
),

-- 0 to 9999: the days an override row can span
day_offsets as (
    select
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10
        + ones.digit as days_after
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

override_daily as (
    select
        upper(overrides.currency_code) as currency_code,
        cast(
            {{ dbt.dateadd(
                'day', 'day_offsets.days_after', 'overrides.valid_from'
            ) }} as date
        ) as rate_date,
        overrides.units_per_usd,
        overrides.valid_from as published_on,
        cast(
            {{ dbt.concat(["'override: '", 'overrides.rate_source']) }}
            as {{ text_type() }}
        ) as rate_source
    from overrides
    inner join day_offsets
        on
            day_offsets.days_after
            <= {{ dbt.datediff('overrides.valid_from', 'overrides.valid_to', 'day') }}
),

-- an override wins its days; one rate per currency and day
candidates as (
    select
        currency_code,
        rate_date,
        units_per_usd,
        published_on,
        rate_source,
        1 as precedence
    from override_daily
    union all
    select
        currency_code,
        rate_date,
        units_per_usd,
        published_on,
        rate_source,
        2 as precedence
    from ecb_daily
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by candidates.currency_code, candidates.rate_date
            order by candidates.precedence
        ) as rate_rank
    from candidates
),

final as (
    select
        cast(currency_code as {{ text_type() }}) as currency_code,
        rate_date,
        cast(units_per_usd as decimal(38, 18)) as units_per_usd,
        published_on,
        cast(rate_source as {{ text_type() }}) as rate_source
    from ranked
    where rate_rank = 1
)

select * from final
