from django import template

from billing.models import Invoice

register = template.Library()


@register.simple_tag
def trade_invoice(trade):
    """The (primary, final) invoice of a trade, or None."""
    return Invoice.objects.filter(trade=trade, supplements__isnull=True, period_start__isnull=True).first()


@register.simple_tag
def trade_period_invoices(trade):
    """The period (month-end) invoices of a long rental, oldest first."""
    return list(Invoice.objects.filter(trade=trade, period_start__isnull=False).order_by("period_start"))


@register.simple_tag
def trade_deposit(trade):
    """The deposit of a trade (with its refund and the payment it became), or None."""
    from billing.selectors import trade_deposit as select

    return select(trade)
