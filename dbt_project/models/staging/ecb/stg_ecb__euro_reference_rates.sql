-- The ECB's euro reference rates, typed: one row per published day and
-- currency, with how many units of it one euro bought.
with source as (
    select * from {{ source('ecb', 'ecb_euro_reference_rates') }}
),

renamed as (
    select
        cast(rate_date as date) as rate_date,
        upper(currency_code) as currency_code,
        cast(units_per_eur as decimal(18, 6)) as units_per_eur,
        _source_file_name as source_file_name,
        _source_file_hash as source_file_hash
    from source
)

select * from renamed
