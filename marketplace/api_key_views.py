"""Owners manage their organisation's API keys: create (the key is shown once), list, revoke."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.access import owner_required
from marketplace.errors import DomainError
from marketplace.models import ApiKey
from marketplace.services import api_keys as services


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, help_text=gettext_lazy("e.g. “ERP sync”"))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ)


@owner_required
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _key, created = services.create_api_key(
                organisation=request.organisation,
                by=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
            )
        except DomainError as error:
            form.add_error("name", error.message)
        else:
            form = ApiKeyForm()
    keys = ApiKey.objects.filter(organisation=request.organisation).select_related("created_by")
    return render(request, "organisations/api_keys.html", {"form": form, "keys": keys, "created": created})


@owner_required
@require_POST
def api_key_revoke(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, organisation=request.organisation)
    try:
        services.revoke_api_key(api_key=key, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Key “%(name)s” revoked; requests with it are now refused.") % {"name": key.name})
    return redirect("api_keys")
