-- Loads that dlt completed: every job of the package landed. Models read
-- only deliveries of these, so a run killed halfway through a load is never
-- half-visible in the marts.
with source as (
    select * from {{ source('dlt', '_dlt_loads') }}
),

completed as (
    select
        load_id,
        schema_name,
        inserted_at
    from source
    where status = 0
)

select * from completed
