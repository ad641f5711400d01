-- Why a linear trend: most series here are shorter than the year a seasonal
-- naive projection needs, and a least-squares line over the last 12 calendar
-- months (0 for months without sales) is one aggregate on every engine
-- (regr_slope / regr_intercept exist on DuckDB, PostgreSQL and Spark) that a
-- reader can redo in a spreadsheet. Month offsets count back from the last
-- month with sales (0, -1, ... -11), so the intercept is the trend's value
-- in that month. A fit on a single month has no slope: the projection stays
-- at that month's value. GMV cannot be negative on average, so the line is
-- floored at 0. Local GMV is fitted only on months in the currency of the
-- last month; USD only on months whose USD is known.
{%- set fitted_months_at_most = 12 %}
{%- set months_projected = 3 %}
with monthly_gmv as (
    select * from {{ ref('finance_monthly_gmv') }}
),

digits as (
    select * from {{ ref('digits') }}
),

last_sales_months as (
    select
        marketplace_code,
        country_code,
        max(month_start) as last_sales_month
    from monthly_gmv
    group by marketplace_code, country_code
),

series_ends as (
    select
        last_sales_months.marketplace_code,
        last_sales_months.country_code,
        last_sales_months.last_sales_month,
        monthly_gmv.currency_code
    from last_sales_months
    inner join monthly_gmv
        on
            last_sales_months.marketplace_code = monthly_gmv.marketplace_code
            and last_sales_months.country_code = monthly_gmv.country_code
            and last_sales_months.last_sales_month = monthly_gmv.month_start
),

offsets as (
    select
        monthly_gmv.marketplace_code,
        monthly_gmv.country_code,
        series_ends.last_sales_month,
        series_ends.currency_code,
        monthly_gmv.month_start,
        case
            when monthly_gmv.currency_code = series_ends.currency_code
                then monthly_gmv.gmv
        end as gmv,
        monthly_gmv.gmv_usd,
        cast(
            {{ dbt.datediff(
                'series_ends.last_sales_month',
                'monthly_gmv.month_start',
                'month'
            ) }} as integer
        ) as month_offset
    from monthly_gmv
    inner join series_ends
        on
            monthly_gmv.marketplace_code = series_ends.marketplace_code
            and monthly_gmv.country_code = series_ends.country_code
),

fit_window as (
    select * from offsets
    where month_offset > -{{ fitted_months_at_most }}
),

fits as (
    select
        marketplace_code,
        country_code,
        last_sales_month,
        currency_code,
        min(month_start) as fitted_from_month,
        regr_count(gmv, month_offset) as fitted_months,
        regr_slope(gmv, month_offset) as gmv_slope,
        regr_intercept(gmv, month_offset) as gmv_intercept,
        avg(gmv) as gmv_mean,
        regr_count(gmv_usd, month_offset) as fitted_months_usd,
        regr_slope(gmv_usd, month_offset) as gmv_usd_slope,
        regr_intercept(gmv_usd, month_offset) as gmv_usd_intercept,
        avg(gmv_usd) as gmv_usd_mean
    from fit_window
    group by marketplace_code, country_code, last_sales_month, currency_code
),

-- a line needs two months; one month (DuckDB's slope is NaN there, the
-- others' null) is a flat line through it
lines as (
    select
        *,
        case when fitted_months >= 2 then gmv_slope else 0 end as gmv_trend,
        case
            when fitted_months >= 2 then gmv_intercept else gmv_mean
        end as gmv_level,
        case
            when fitted_months_usd >= 2 then gmv_usd_slope else 0
        end as gmv_usd_trend,
        case
            when fitted_months_usd >= 2 then gmv_usd_intercept else gmv_usd_mean
        end as gmv_usd_level
    from fits
),

months_ahead as (
    select digit as months_ahead
    from digits
    where digit between 1 and {{ months_projected }}
),

projected as (
    select
        lines.*,
        months_ahead.months_ahead,
        lines.gmv_level + lines.gmv_trend * months_ahead.months_ahead
            as gmv_on_line,
        lines.gmv_usd_level + lines.gmv_usd_trend * months_ahead.months_ahead
            as gmv_usd_on_line
    from lines
    cross join months_ahead
),

final as (
    select
        cast(marketplace_code as {{ text_type() }}) as marketplace_code,
        cast(country_code as {{ text_type() }}) as country_code,
        cast(
            {{ dbt.dateadd('month', 'months_ahead', 'last_sales_month') }}
            as date
        ) as projected_month,
        cast(months_ahead as integer) as months_ahead,
        last_sales_month,
        cast(currency_code as {{ text_type() }}) as currency_code,
        cast(
            case when gmv_on_line < 0 then 0 else gmv_on_line end
            as decimal(18, 4)
        ) as projected_gmv,
        cast(
            case when gmv_usd_on_line < 0 then 0 else gmv_usd_on_line end
            as decimal(18, 4)
        ) as projected_gmv_usd,
        cast('linear_trend' as {{ text_type() }}) as projection_method,
        fitted_from_month,
        cast(fitted_months as bigint) as fitted_months,
        cast(fitted_months_usd as bigint) as fitted_months_usd
    from projected
)

select * from final
