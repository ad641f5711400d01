import pytest

from ingest.contract import RejectedFile, match_header, parse_delivery_name


@pytest.mark.parametrize(
    ("name", "marketplace", "country", "label", "extension"),
    [
        ("GDN_SG_2026-11-01.csv", "GDN", "SG", "2026-11-01", "csv"),
        ("SEV_TH_week45.xlsx", "SEV", "TH", "week45", "xlsx"),
        ("gdn_my_2026.11_v2.CSV", "GDN", "MY", "2026.11_v2", "csv"),
    ],
)
def test_valid_names_are_split_and_upper_cased(name, marketplace, country, label, extension):
    parsed = parse_delivery_name(name)
    assert (parsed.marketplace_code, parsed.country_code) == (marketplace, country)
    assert (parsed.label, parsed.extension) == (label, extension)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("notes.txt", "does not match"),
        ("GDN_SG_2026-11-01.json", "does not match"),
        ("GDN_SG_.csv", "does not match"),
        ("GDN_SG_a b.csv", "does not match"),
        ("GDN_SGP_2026.csv", "does not match"),
        ("XYZ_SG_2026-11-01.csv", "unknown marketplace 'XYZ'"),
        ("GDN_VN_2026-11-01.csv", "country 'VN' is not registered for marketplace GDN"),
        ("SEV_ID_2026-11-01.xlsx", "country 'ID' is not registered for marketplace SEV"),
    ],
)
def test_bad_names_are_rejected_with_the_reason(name, reason):
    with pytest.raises(RejectedFile, match=reason):
        parse_delivery_name(name)


def test_header_matching_ignores_case_and_spaces_and_keeps_unknown_columns():
    mapping = match_header(
        [" Report_Date ", "SELLER_ID", "sku_id", "Units_Sold", "GMV", "Promo Code"]
    )
    assert mapping.contract_positions == {
        "report_date": 0,
        "seller_id": 1,
        "sku_id": 2,
        "units_sold": 3,
        "gmv": 4,
    }
    assert mapping.extra_positions == {"Promo Code": 5}


def test_header_missing_a_required_column_is_rejected():
    with pytest.raises(RejectedFile, match="missing required column"):
        match_header(["report_date", "seller_id", "sku_id", "units_sold"])


def test_duplicate_header_is_rejected():
    with pytest.raises(RejectedFile, match="more than once"):
        match_header(["report_date", "seller_id", "sku_id", "units_sold", "gmv", "GMV "])
