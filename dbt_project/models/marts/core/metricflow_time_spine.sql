-- The semantic layer's calendar is the warehouse's: the days of dim_date, so
-- MetricFlow's time spine and the marts never disagree on which days exist.
with dates as (
    select * from {{ ref('dim_date') }}
),

final as (
    select date_day
    from dates
)

select * from final
