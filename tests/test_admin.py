"""Every admin changelist opens for an operator (search and filters wired), none for others."""

import pytest
from django.contrib import admin
from django.urls import reverse


@pytest.mark.django_db
def test_every_registered_changelist_opens_for_an_operator(client, operator):
    client.force_login(operator)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url, {"q": "x"} if admin.site._registry[model].search_fields else {})
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.django_db
def test_money_rows_cannot_be_changed_in_the_admin(client, operator):
    from billing.models import Invoice, JournalTransaction
    from marketplace.models import Trade

    client.force_login(operator)
    for model in (Invoice, JournalTransaction, Trade):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None)
        assert not model_admin.has_change_permission(None)
        assert not model_admin.has_delete_permission(None)
