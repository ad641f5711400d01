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

usd_per_eur as (
    select
        rate_date,
        units_per_eur as usd_per_eur
    from ecb_rates
    where currency_code = 'USD' and units_per_eur > 0
),

published as (
    select
        ecb_rates.currency_code,
        ecb_rates.rate_date,
        ecb_rates.units_per_eur / usd_per_eur.usd_per_eur as units_per_usd
    from ecb_rates
    inner join usd_per_eur
        on ecb_rates.rate_date = usd_per_eur.rate_date
    where ecb_rates.units_per_eur > 0
    union all
    -- the euro itself, which the ECB's table is quoted in
    select
        'EUR' as currency_code,
        rate_date,
        1 / usd_per_eur as units_per_usd
    from usd_per_eur
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

final as (
    select
        cast(currency_code as {{ text_type() }}) as currency_code,
        rate_date,
        cast(units_per_usd as decimal(38, 18)) as units_per_usd,
        published_on,
        rate_source
    from override_daily
    union all
    select
        cast(ecb_daily.currency_code as {{ text_type() }}) as currency_code,
        ecb_daily.rate_date,
        cast(ecb_daily.units_per_usd as decimal(38, 18)) as units_per_usd,
        ecb_daily.published_on,
        ecb_daily.rate_source
    from ecb_daily
    left join override_daily
        on
            ecb_daily.currency_code = override_daily.currency_code
            and ecb_daily.rate_date = override_daily.rate_date
    where override_daily.currency_code is null
)

select * from final
