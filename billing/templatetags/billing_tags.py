from django import template

from billing.models import Invoice

register = template.Library()


@register.simple_tag
def trade_invoice(trade):
    """The (primary) invoice of a trade, or None."""
    return Invoice.objects.filter(trade=trade, supplements__isnull=True).first()
