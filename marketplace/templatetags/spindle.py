"""Template helpers available in every template (registered as builtins in settings)."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from billing.money import format_money

register = template.Library()


@register.filter
def money(amount, currency=None):
    """``{{ amount|money:"CNY" }}`` → ¥1,234.50 (currency defaults to the site's)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    return format_money(value, currency or settings.SPINDLE_DEFAULT_CURRENCY)


@register.filter
def hours(seconds) -> str:
    """Seconds as hours with at most two decimals: 23400 → "6.5"."""
    value = (Decimal(seconds or 0) / 3600).quantize(Decimal("0.01"))
    return format(value.normalize(), "f")
