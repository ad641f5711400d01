-- Warns while some amount in a mart has no exchange rate for its currency and
-- day (its USD is null): refresh the ECB rates or add an override
-- (fx_rate_overrides); marts.fx_missing_rates lists them.
{{ config(severity='warn') }}

select * from {{ ref('fx_missing_rates') }}
