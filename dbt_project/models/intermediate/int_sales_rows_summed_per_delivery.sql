-- Accepted rows added up per delivery and key: the contract says rows of one
-- file that share (report_date, seller_id, sku_id) add up.
with accepted_rows as (
    select * from {{ ref('int_sales_rows_validated') }}
    where rejection_reason is null
),

fx_rates as (
    select * from {{ ref('fx_rates') }}
),

converted as (
    select
        accepted_rows.*,
        -- the same precision on every engine (DuckDB divides decimals as doubles)
        cast(
            accepted_rows.gmv / fx_rates.units_per_usd as decimal(18, 6)
        ) as gmv_usd
    from accepted_rows
    left join fx_rates
        on
            accepted_rows.effective_currency_code = fx_rates.currency_code
            and cast(
                {{ dbt.date_trunc('month', 'accepted_rows.report_date') }} as date
            ) = fx_rates.rate_month
),

summed as (
    select
        marketplace_code,
        country_code,
        report_date,
        seller_id,
        sku_id,
        file_hash,
        file_name,
        file_modified_at,
        load_id,
        max(effective_currency_code) as currency_code,
        sum(units_sold) as units_sold,
        sum(gmv) as gmv,
        -- null as soon as one row lacks a rate: a partial sum would mislead
        case
            when count(gmv_usd) = count(*) then sum(gmv_usd)
        end as gmv_usd,
        sum(orders) as orders,
        sum(page_views) as page_views,
        sum(discount) as discount,
        count(*) as source_row_count,
        max(staged_at) as staged_at
    from converted
    group by
        marketplace_code,
        country_code,
        report_date,
        seller_id,
        sku_id,
        file_hash,
        file_name,
        file_modified_at,
        load_id
)

select * from summed
