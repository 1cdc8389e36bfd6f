"""Owners manage their organisation's outgoing webhooks: create (the secret is shown once),
delete, and see recent deliveries with a replay button."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.access import owner_required
from marketplace.errors import DomainError
from marketplace.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from marketplace.services import webhooks as services

RECENT_DELIVERIES = 10


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("An https address of your system, e.g. https://erp.example.com/spindle/webhooks"),
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )


@owner_required
def webhooks(request):
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = services.create_subscription(
                organisation=request.organisation,
                by=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
            )
        except DomainError as error:
            form.add_error("event_types" if error.code == "event_types" else "url", error.message)
        else:
            created = {"subscription": subscription, "secret": secret}
            form = WebhookForm()
    subscriptions = list(WebhookSubscription.objects.filter(organisation=request.organisation))
    for subscription in subscriptions:
        subscription.recent = list(WebhookDelivery.objects.filter(subscription=subscription)[:RECENT_DELIVERIES])
        subscription.event_labels = [WebhookEvent(value).label for value in subscription.event_types]
    return render(
        request,
        "organisations/webhooks.html",
        {"form": form, "subscriptions": subscriptions, "created": created},
    )


@owner_required
@require_POST
def webhook_delete(request, subscription_id: int):
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id, organisation=request.organisation)
    services.delete_subscription(subscription=subscription, by=request.user)
    messages.success(request, _("Webhook to %(url)s deleted.") % {"url": subscription.url})
    return redirect("webhooks")


@owner_required
@require_POST
def webhook_delivery_replay(request, delivery_id: int):
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription__organisation"),
        pk=delivery_id,
        subscription__organisation=request.organisation,
    )
    try:
        services.replay_delivery(delivery=delivery, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Delivery #%(id)s queued to be sent again.") % {"id": delivery.pk})
    return redirect("webhooks")
