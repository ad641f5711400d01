-- Two overrides of one currency that cover a common day: which rate holds is
-- ambiguous, so the build fails until fx_rate_overrides says it once.
with overrides as (
    select * from {{ ref('fx_rate_overrides') }}
)

select
    earlier.currency_code,
    earlier.valid_from,
    later.valid_from as overlapping_valid_from
from overrides as earlier
inner join overrides as later
    on
        upper(earlier.currency_code) = upper(later.currency_code)
        and earlier.valid_from < later.valid_from
        and later.valid_from <= earlier.valid_to
