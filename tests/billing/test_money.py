from decimal import Decimal

import pytest
from django.utils import translation

from billing.money import HALF_UP, Money, format_money, from_minor_units, quantize, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "CNY", "2.35"),
        ("2.344", "CNY", "2.34"),
        ("-2.345", "CNY", "-2.35"),
        ("1500.5", "JPY", "1501"),
    ],
)
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    assert quantize(Decimal(amount), currency, HALF_UP) == Decimal(expected)


def test_minor_units_round_trip():
    assert to_minor_units(Decimal("4200.50"), "CNY") == 420050
    assert from_minor_units(420050, "CNY") == Decimal("4200.50")
    assert to_minor_units(Decimal("1500"), "JPY") == 1500
    with pytest.raises(ValueError):
        to_minor_units(Decimal("1.005"), "CNY")


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5, "CNY")
    with pytest.raises(ValueError):
        Money(Decimal(1), "CNY") + Money(Decimal(1), "USD")
    assert Money(Decimal("1.10"), "CNY") + Money(Decimal("2.205"), "CNY") == Money(Decimal("3.305"), "CNY")
    assert Money(Decimal("3.305"), "CNY").rounded() == Money(Decimal("3.31"), "CNY")


def test_formatting_follows_the_language():
    assert format_money(Decimal("4200.5"), "CNY", "zh-hans") == "¥4,200.50"
    assert format_money(Decimal("4200.5"), "CNY", "en") == "CN¥4,200.50"
    with translation.override("en"):
        assert format_money(Decimal("99"), "USD") == "$99.00"
