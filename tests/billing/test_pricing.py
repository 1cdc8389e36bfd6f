"""Golden invoices: fixed trades with expected totals to the cent, including rounding edges."""

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.pricing import Terms, Usage, billed_hours, price_trade

D = Decimal


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("seconds", "increment", "rounding", "hours"),
    [
        (0, 15, "ceiling", D("0")),
        (1, 15, "ceiling", D("0.25")),
        (900, 15, "ceiling", D("0.25")),
        (901, 15, "ceiling", D("0.5")),
        (79200, 30, "ceiling", D("22")),
        (1349, 15, "nearest", D("0.25")),  # 22.48 min → 1 step
        (1350, 15, "nearest", D("0.5")),  # exactly 1.5 steps → halves up
        (3599, 60, "nearest", D("1")),
    ],
)
def test_run_time_is_rounded_to_the_billing_increment(seconds, increment, rounding, hours):
    assert billed_hours(seconds, increment_minutes=increment, rounding=rounding) == hours


def test_golden_machine_hour_invoice():
    # The brief's example: ¥4,200 = 22 h × ¥180 + ¥240 setup.
    terms = Terms(currency="CNY", billing_unit="machine_hour", rate=D("180.00"), setup_fee=D("240.00"))
    quote = price_trade(terms, Usage(booked_seconds=24 * 3600, measured_seconds=22 * 3600 - 300))
    assert [(line.code, line.quantity, line.amount) for line in quote.lines] == [
        ("machine_hours", D("22"), D("3960.00")),
        ("setup", D("1"), D("240.00")),
    ]
    assert quote.lines[0].description == "Machine-hours (measured 21.92 h, booked 24 h)"
    assert (quote.net, quote.vat, quote.gross) == (D("4200.00"), D("546.00"), D("4746.00"))
    assert (quote.commission, quote.provider_share) == (D("210.00"), D("3990.00"))


def test_golden_per_part_test_invoice_with_vat_half_up():
    # 7 specimens × ¥333.33 = ¥2,333.31; VAT 6 % = 139.9986 → 140.00.
    terms = Terms(currency="CNY", billing_unit="part", rate=D("333.33"), vat_rate=D("0.06"), commission_rate=D("0.08"))
    quote = price_trade(terms, Usage(accepted_parts=7))
    assert quote.net == D("2333.31")
    assert quote.vat == D("140.00")
    assert quote.gross == D("2473.31")
    assert quote.commission == D("186.66")  # 186.6648 → 186.66
    assert quote.provider_share == D("2146.65")


def test_minimum_charge_top_up_and_pass_through_lines():
    terms = Terms(
        currency="CNY",
        billing_unit="machine_hour",
        rate=D("120.00"),
        setup_fee=D("100.00"),
        minimum_charge=D("500.00"),
        material=D("86.40"),
        freight=D("35.00"),
        commission_min=D("50.00"),
    )
    quote = price_trade(terms, Usage(measured_seconds=3600))
    assert [(line.code, line.amount) for line in quote.lines] == [
        ("machine_hours", D("120.00")),
        ("setup", D("100.00")),
        ("minimum_top_up", D("280.00")),
        ("material", D("86.40")),
        ("freight", D("35.00")),
    ]
    assert quote.net == D("621.40")
    assert quote.vat == D("80.78")  # 80.782 → 80.78
    assert quote.commission == D("50.00")  # 5 % = 31.07, raised to the minimum


def test_overrun_is_billed_only_when_approved():
    terms = Terms(currency="CNY", billing_unit="machine_hour", rate=D("200.00"), billing_increment_minutes=30)
    unapproved = price_trade(terms, Usage(measured_seconds=7200, unapproved_overrun_seconds=2700))
    assert [line.code for line in unapproved.lines] == ["machine_hours"]
    assert unapproved.net == D("400.00")
    assert unapproved.notes == ["0.75 h of run time outside the booking were not approved and are not billed."]
    approved = price_trade(terms, Usage(measured_seconds=7200, approved_overrun_seconds=2700))
    assert [(line.code, line.quantity, line.amount) for line in approved.lines] == [
        ("machine_hours", D("2"), D("400.00")),
        ("overrun", D("1"), D("200.00")),
    ]


def test_commission_is_capped_and_never_added_to_the_buyer():
    terms = Terms(currency="USD", billing_unit="part", rate=D("1000.00"), commission_max=D("250.00"))
    quote = price_trade(terms, Usage(accepted_parts=10))
    assert quote.commission == D("250.00")
    assert quote.gross == quote.net + quote.vat


@settings(deadline=None)  # examples: the profile (tests/conftest.py)
@given(
    rate=st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2),
    seconds=st.integers(0, 400 * 3600),
    parts=st.integers(0, 10_000),
    setup=st.decimals(min_value=D("0"), max_value=D("2000"), places=2),
    minimum=st.decimals(min_value=D("0"), max_value=D("5000"), places=2),
    vat=st.sampled_from([D("0.13"), D("0.06"), D("0")]),
    commission=st.decimals(min_value=D("0"), max_value=D("0.3"), places=3),
    unit=st.sampled_from(["machine_hour", "part"]),
)
def test_parts_always_add_up(rate, seconds, parts, setup, minimum, vat, commission, unit):
    terms = Terms(
        currency="CNY",
        billing_unit=unit,
        rate=rate,
        setup_fee=setup,
        minimum_charge=minimum,
        vat_rate=vat,
        commission_rate=commission,
    )
    quote = price_trade(terms, Usage(measured_seconds=seconds, accepted_parts=parts))
    assert quote.net == sum(line.amount for line in quote.lines)
    assert quote.provider_share + quote.commission + quote.vat == quote.gross
    assert all(line.amount == line.amount.quantize(D("0.01")) for line in quote.lines)
    assert quote.net >= minimum
    assert 0 <= quote.commission <= quote.net
