-- Every typing rule staging applies, over the text values of a probe table
-- (`probe_values`: probe_id, value) that tests/test_cast_properties.py fills
-- with generated values on each engine: the casts must never raise, and must
-- agree between engines and with Python's reading of the same text.
with probe as (
    select
        probe_id,
        {{ clean_text('value') }} as cleaned
    from probe_values
),

typed as (
    select
        probe_id,
        cleaned,
        {{ text_to_integer('cleaned') }} as as_integer,
        {{ text_to_decimal('cleaned') }} as as_decimal,
        {{ text_to_date('cleaned') }} as as_date,
        {{ rfc3339_to_utc('cleaned') }} as as_utc
    from probe
)

select * from typed
