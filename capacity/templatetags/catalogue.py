"""Catalogue display helpers: ``{% load catalogue %}``."""

from decimal import Decimal

from django import template
from django.utils.translation import get_language

from capacity.selectors.catalogue import region_label

register = template.Library()


@register.filter
def region(profile) -> str:
    """The provider's province and city in the active language."""
    if profile is None:
        return ""
    english = (get_language() or "zh-hans").lower().startswith("en")
    return region_label(profile.province, profile.city, english=english)


@register.filter
def spec(value) -> str:
    """A spec number without trailing zeros: Decimal('800.00') → '800', Decimal('0.0100') → '0.01'."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


@register.filter
def clock(minute: int) -> str:
    """Minutes from local midnight as HH:MM (1440 → 24:00)."""
    hours, minutes = divmod(int(minute), 60)
    return f"{hours:02d}:{minutes:02d}"
