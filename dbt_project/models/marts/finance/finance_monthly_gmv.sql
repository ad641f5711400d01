-- Every calendar month from a marketplace-country's first to its last month
-- with sales, months without sales as 0: the months come from dim_date, so
-- in a series the previous row is always the previous calendar month and
-- lag(1) / lag(12) give month-over-month and year-over-year. Money of
-- different currencies is never added up: a month whose rows are in more
-- than one currency has no local gmv (its USD is still comparable).
with sku_sales as (
    select * from {{ ref('sku_sales') }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

sales_months as (
    select
        marketplace_code,
        country_code,
        cast(
            {{ dbt.date_trunc('month', 'report_date') }} as date
        ) as month_start,
        gmv,
        gmv_usd,
        currency_code,
        units_sold,
        orders
    from sku_sales
),

monthly_sales as (
    select
        marketplace_code,
        country_code,
        month_start,
        count(*) as sales_rows,
        case
            when min(currency_code) = max(currency_code)
                then min(currency_code)
        end as currency_code,
        case
            when min(currency_code) = max(currency_code) then sum(gmv)
        end as gmv,
        {{ sum_usd('gmv_usd', 'gmv') }} as gmv_usd,
        sum(units_sold) as units_sold,
        sum(orders) as orders
    from sales_months
    group by marketplace_code, country_code, month_start
),

series as (
    select
        marketplace_code,
        country_code,
        min(month_start) as first_month,
        max(month_start) as last_month,
        -- the currency of the months without sales
        case
            when min(currency_code) = max(currency_code)
                then min(currency_code)
        end as currency_code
    from monthly_sales
    group by marketplace_code, country_code
),

months as (
    select distinct month_start
    from calendar
),

series_months as (
    select
        series.marketplace_code,
        series.country_code,
        months.month_start,
        series.currency_code as series_currency_code
    from series
    inner join months
        on
            months.month_start
            between series.first_month and series.last_month
),

filled as (
    select
        series_months.marketplace_code,
        series_months.country_code,
        series_months.month_start,
        coalesce(monthly_sales.sales_rows, 0) as sales_rows,
        case
            when monthly_sales.month_start is null
                then series_months.series_currency_code
            else monthly_sales.currency_code
        end as currency_code,
        -- a month without sales is 0 in every currency, USD included
        case
            when monthly_sales.month_start is null then 0
            else monthly_sales.gmv
        end as gmv,
        case
            when monthly_sales.month_start is null then 0
            else monthly_sales.gmv_usd
        end as gmv_usd,
        coalesce(monthly_sales.units_sold, 0) as units_sold,
        case
            when monthly_sales.month_start is null then 0
            else monthly_sales.orders
        end as orders
    from series_months
    left join monthly_sales
        on
            series_months.marketplace_code = monthly_sales.marketplace_code
            and series_months.country_code = monthly_sales.country_code
            and series_months.month_start = monthly_sales.month_start
),

compared as (
    select
        *,
        lag(gmv, 1) over series_window as gmv_previous_month_any_currency,
        lag(currency_code, 1) over series_window
            as previous_month_currency_code,
        lag(gmv_usd, 1) over series_window as gmv_usd_previous_month,
        lag(gmv, 12) over series_window as gmv_last_year_any_currency,
        lag(currency_code, 12) over series_window as last_year_currency_code,
        lag(gmv_usd, 12) over series_window as gmv_usd_last_year
    from filled
    window series_window as (
        partition by marketplace_code, country_code
        order by month_start
    )
),

same_currency as (
    select
        *,
        case
            when previous_month_currency_code = currency_code
                then gmv_previous_month_any_currency
        end as gmv_previous_month,
        case
            when last_year_currency_code = currency_code
                then gmv_last_year_any_currency
        end as gmv_last_year
    from compared
),

final as (
    select
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(country_code as {{ text_type() }}) as country_code,
        month_start,
        cast(sales_rows as bigint) as sales_rows,
        cast(currency_code as {{ text_type() }}) as currency_code,
        cast(gmv as decimal(18, 4)) as gmv,
        cast(gmv_usd as decimal(18, 4)) as gmv_usd,
        cast(units_sold as bigint) as units_sold,
        cast(orders as bigint) as orders,
        cast(gmv_previous_month as decimal(18, 4)) as gmv_previous_month,
        cast(gmv_usd_previous_month as decimal(18, 4))
            as gmv_usd_previous_month,
        cast(
            {{ relative_change('gmv', 'gmv_previous_month') }}
            as decimal(38, 6)
        ) as gmv_mom_change,
        cast(
            {{ relative_change('gmv_usd', 'gmv_usd_previous_month') }}
            as decimal(38, 6)
        ) as gmv_usd_mom_change,
        cast(gmv_last_year as decimal(18, 4)) as gmv_last_year,
        cast(gmv_usd_last_year as decimal(18, 4)) as gmv_usd_last_year,
        cast(
            {{ relative_change('gmv', 'gmv_last_year') }}
            as decimal(38, 6)
        ) as gmv_yoy_change,
        cast(
            {{ relative_change('gmv_usd', 'gmv_usd_last_year') }}
            as decimal(38, 6)
        ) as gmv_usd_yoy_change
    from same_currency
)

select * from final
