"""Hypothesis-driven garbage through every form of the project, posted to the real view that binds it.

Every Form/ModelForm class defined in marketplace/, capacity/ and billing/ is discovered by walking
the packages; test_every_form_has_a_fuzz_case fails when one has no entry in FORM_CASES. Adding a
form is one line in FORM_CASES — the named route whose view binds it and who sends it:

    billing_forms.RefundForm: [Case("billing:invoice_refund", PROVIDER)],

URL parameters come from the ``world`` fixture of tests/test_scoping.py (add the route to its ACCESS
first). Optional: ``method="get"`` for filter forms, ``prefix`` (a form prefix), ``setup`` (put the
world in the state the view needs; returns URL parameter overrides), ``fields`` (a form instance,
for fields built in __init__), ``binds=False`` (an htmx partial that only reads the values, or a view
that reads a field itself). The values are derived from the form's fields (tests/fuzz_support.py):
missing, well-typed, or garbage — NUL bytes, huge strings, unicode, negative and huge numbers, bad
dates, random files — with or without an htmx header. For each request:

- no server error;
- a bound, invalid form changed nothing in the database (every table, tests/fuzz_support.table_digest)
  or under MEDIA_ROOT, and the answer says why: the page shows the form's errors, or the redirect
  carries an error message (the trade page's action forms post and redirect back);
- a refused action (an error message, a 4xx) changed nothing either; GET forms never write (a filter
  that cannot apply is ignored, so its errors need not be shown);
- each case bound its form at least once (unless ``binds=False``), so a broken setup cannot pass.

All cases share one world, each in a savepoint rolled back after it; every failing case is reported
with its falsifying example. Examples per case: a tenth of the profile's (5 in CI);
SPINDLE_FUZZ_EXAMPLES=200 for a deep hunt, SPINDLE_FUZZ_ONLY=QuoteForm to run the matching cases.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django import forms
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.utils import translation
from django.utils.html import escape
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing import forms as billing_forms
from capacity import availability_forms, filters, forms_metering
from capacity import forms as capacity_forms
from marketplace import api_key_views, match_views, ops_forms, order_forms, trade_forms, webhook_views
from marketplace import forms as marketplace_forms
from tests.conftest import stored_files
from tests.fuzz_support import PROJECT_APPS, bound_forms, changed_tables, encode, form_data, table_digest
from tests.test_scoping import url_for, world  # noqa: F401  (the shared world fixture)

BUYER, PROVIDER, OPERATOR, ANONYMOUS = "buyer_owner", "provider_owner", "operator", None


@dataclass(frozen=True)
class Case:
    route: str
    persona: str | None
    method: str = "post"
    prefix: Callable[[dict], str] | None = None
    setup: Callable[[dict], dict] | None = None  # returns URL parameter overrides
    fields: Callable[[dict], forms.BaseForm] | None = None
    binds: bool = True  # False: an htmx partial that only reads the values, or a view reading a field itself


def _draft_order(w):
    from marketplace.models import Order
    from tests.factories import OrderFactory

    order = OrderFactory(buyer=Order.objects.get(pk=w["order_id"]).buyer, status="draft")
    return {"order_id": order.pk}


def _wizard(step: str) -> Callable[[dict], dict]:
    return lambda w: {**_draft_order(w), "step": step}


def _disputed(w):
    from marketplace.models import Trade

    Trade.objects.filter(pk=w["trade_id"]).update(status=Trade.Status.DISPUTED)
    return {}


def _suspended(w):
    from marketplace.models import Organisation, User
    from marketplace.services.ops import suspend_organisation

    organisation = Organisation.objects.get(pk=w["organisation_id"])
    suspend_organisation(organisation=organisation, by=User.objects.get(email="ops@spindle.example"), reason="Fraud")
    return {}


def _fresh_invitation(w):
    from marketplace.models import RFQ, Order, RFQInvitation, User

    order = Order.objects.get(pk=w["order_id"])
    rfq = RFQ.objects.create(order=order, created_by=User.objects.get(email="owner@buyer.example"))
    invitation = RFQInvitation.objects.create(rfq=rfq, provider_id=w["organisation_id"])
    return {"rfq_invitation_id": invitation.pk}


def _mine(w):
    from capacity.models import Resource

    return Resource.objects.filter(provider_id=w["organisation_id"])


def _providers():
    from marketplace.models import Organisation

    return Organisation.objects.all()


def _catalogue_form(w):
    from capacity.models import Resource

    return filters.CatalogueFilter(queryset=Resource.objects.all()).form


def _resource_form(w):
    from capacity.forms import ResourceForm
    from capacity.models import Resource

    return ResourceForm(resource=Resource.objects.get(pk=w["resource_id"]))


FORM_CASES: dict[type, list[Case]] = {
    # orders: the wizard's steps and the order page
    order_forms.WhatForm: [
        Case("order_create", BUYER),
        Case("order_wizard", BUYER, setup=_wizard("what")),
        Case("order_category_options", BUYER, "get", binds=False),  # the htmx category selects
    ],
    order_forms.SpecForm: [Case("order_wizard", BUYER, setup=_wizard("spec"))],
    order_forms.NdaForm: [Case("order_wizard", BUYER, setup=_wizard("drawings"))],
    order_forms.DeliveryForm: [Case("order_wizard", BUYER, setup=_wizard("delivery"))],
    # The drawing upload streams the file through a size-limiting handler and reads it itself.
    order_forms.UploadForm: [Case("order_file_upload", BUYER, setup=_draft_order, binds=False)],
    order_forms.ShareForm: [Case("order_share", BUYER)],
    order_forms.CancelForm: [Case("order_cancel", BUYER)],
    order_forms.StatusFilterForm: [Case("order_list", BUYER, "get")],
    # trades, RFQs, quotes
    trade_forms.TransitionForm: [Case("trade_transition", PROVIDER)],
    trade_forms.DeliveryForm: [Case("trade_delivery", PROVIDER)],
    trade_forms.InspectionForm: [Case("trade_inspection", BUYER)],
    trade_forms.MessageForm: [Case("trade_message", BUYER)],
    trade_forms.RescheduleForm: [Case("trade_reschedule", BUYER)],
    trade_forms.NoShowForm: [Case("trade_no_show", BUYER)],
    trade_forms.ReviewForm: [Case("trade_review", BUYER)],
    trade_forms.RFQForm: [Case("order_rfq", BUYER, fields=lambda w: trade_forms.RFQForm(providers=_providers()))],
    trade_forms.QuoteForm: [
        Case(
            "rfq_respond", PROVIDER, setup=_fresh_invitation, fields=lambda w: trade_forms.QuoteForm(resources=_mine(w))
        )
    ],
    trade_forms.DeclineForm: [Case("rfq_decline", PROVIDER)],
    trade_forms.SideFilterForm: [Case("trade_list", BUYER, "get")],
    trade_forms.JobReportForm: [Case("trade_job_report", PROVIDER, prefix=lambda w: f"report-{w['link_id']}")],
    trade_forms.JobReportDisputeForm: [
        Case("trade_job_report_dispute", BUYER, prefix=lambda w: f"dispute-{w['report_id']}")
    ],
    # the operator console
    ops_forms.NoteForm: [Case("ops_flag_resolve", OPERATOR)],
    ops_forms.DisputeDecisionForm: [Case("ops_dispute_resolve", OPERATOR, setup=_disputed)],
    ops_forms.SuspensionForm: [Case("ops_organisation_suspend", OPERATOR)],
    ops_forms.LiftForm: [Case("ops_organisation_lift", OPERATOR, setup=_suspended)],
    ops_forms.AuditFilterForm: [Case("ops_audit", OPERATOR, "get")],
    ops_forms.OrganisationSearchForm: [Case("ops_organisations", OPERATOR, "get")],
    # organisations, integrations
    marketplace_forms.OrganisationForm: [
        Case("organisation_create", PROVIDER),
        Case("organisation_settings", PROVIDER),
    ],
    marketplace_forms.InvitationForm: [Case("organisation_members", PROVIDER)],
    marketplace_forms.RoleForm: [Case("member_role", PROVIDER)],
    marketplace_forms.SwitchOrganisationForm: [Case("organisation_switch", PROVIDER)],
    match_views.MatchNotificationForm: [Case("match_notification_settings", PROVIDER)],
    api_key_views.ApiKeyForm: [Case("api_keys", PROVIDER)],
    webhook_views.WebhookForm: [Case("webhooks", PROVIDER)],
    # provider workspace, calendar, devices, catalogue, operator review
    capacity_forms.ProviderProfileForm: [
        Case("capacity:workspace_profile", PROVIDER),
        Case("capacity:workspace_profile_cities", PROVIDER, "get", binds=False),  # htmx city options
    ],
    capacity_forms.PhotoForm: [
        Case("capacity:workspace_profile_photo_add", PROVIDER),
        Case("capacity:workspace_resource_photo_add", PROVIDER),
    ],
    capacity_forms.CertificationForm: [
        Case("capacity:workspace_certification_create", PROVIDER),
        Case("capacity:workspace_certification_edit", PROVIDER),
    ],
    capacity_forms.ReasonForm: [
        Case("capacity:ops_provider_reject", OPERATOR),
        Case("capacity:ops_listing_reject", OPERATOR),
    ],
    capacity_forms.ResourceForm: [
        Case("capacity:workspace_resource_create", PROVIDER),
        Case("capacity:workspace_resource_edit", PROVIDER, fields=_resource_form),
        Case("capacity:workspace_resource_spec_fields", PROVIDER, "get", binds=False),  # htmx spec fields
    ],
    capacity_forms.ImportForm: [Case("capacity:workspace_resource_import", PROVIDER)],
    forms_metering.DeviceForm: [Case("capacity:device_create", PROVIDER)],
    forms_metering.BindResourcesForm: [Case("capacity:device_resources", PROVIDER)],
    availability_forms.WeeklyPatternForm: [Case("capacity:resource_calendar", PROVIDER)],
    availability_forms.AvailabilityExceptionForm: [Case("capacity:resource_exception_add", PROVIDER)],
    filters.CatalogueFilterForm: [Case("capacity:catalogue_list", ANONYMOUS, "get", fields=_catalogue_form)],
    # billing
    billing_forms.BuyerBillingProfileForm: [Case("billing:details", BUYER)],
    billing_forms.BankTransferForm: [Case("billing:ops_payments", OPERATOR)],
    billing_forms.FapiaoForm: [Case("billing:invoice_fapiao_upload", PROVIDER)],
    billing_forms.CreditNoteForm: [Case("billing:invoice_credit_note", PROVIDER)],
    billing_forms.CardPaymentForm: [Case("billing:invoice_pay", BUYER)],
    billing_forms.BankPayoutForm: [Case("billing:ops_payouts", OPERATOR)],
    billing_forms.SupplementaryInvoiceForm: [Case("billing:invoice_supplement", PROVIDER)],
    billing_forms.BankRefundExecutedForm: [Case("billing:bank_refund_executed", OPERATOR)],
    billing_forms.ExplanationForm: [Case("billing:ops_reconciliation_explain", OPERATOR)],
    billing_forms.RefundFilterForm: [Case("billing:ops_refunds", OPERATOR, "get")],
}


def project_forms() -> set[type]:
    """Every Form/ModelForm class defined in the project's packages (imported to be sure)."""
    for package in PROJECT_APPS:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" in info.name or info.name.endswith((".wsgi", ".asgi")):
                continue
            importlib.import_module(info.name)
    found, pending = set(), [forms.BaseForm]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] in PROJECT_APPS:
                found.add(sub)
    return found


def test_every_form_has_a_fuzz_case():
    missing = {f"{f.__module__}.{f.__qualname__}" for f in project_forms() - set(FORM_CASES)}
    assert not missing, f"register these forms in FORM_CASES (tests/test_form_fuzz.py): {sorted(missing)}"
    from tests.test_scoping import ACCESS

    for cases in FORM_CASES.values():
        assert cases
        for case in cases:
            assert case.route in ACCESS, case.route


CASES = [
    (f"{form_class.__name__}-{case.route}", form_class, case)
    for form_class, cases in FORM_CASES.items()
    for case in cases
]


def _error_texts(form) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


def _flashed(response, level) -> list[str]:
    """Messages of this request (the cookie of earlier ones is dropped before each request)."""
    storage = get_messages(response.wsgi_request)
    return [str(m) for m in [*storage._loaded_messages, *storage._queued_messages] if m.level >= level]


@pytest.fixture
def en(settings):
    settings.LANGUAGE_CODE = "en"


# A tenth of the profile's examples per form (5 in CI, 2 on a developer machine): some 60 views are
# fuzzed and the sum stays within the suite's time budget (~25 s in CI). For a deep hunt, e.g. before
# a release: SPINDLE_FUZZ_EXAMPLES=200 pytest tests/test_form_fuzz.py
PER_FORM = hypothesis_settings(
    max_examples=int(os.environ.get("SPINDLE_FUZZ_EXAMPLES") or max(2, hypothesis_settings.default.max_examples // 10))
)


class _Undo(Exception):
    """Rolls a case's savepoint back: every case starts from the same world."""


@pytest.mark.django_db
def test_garbage_through_the_real_view_is_refused_cleanly(
    request,
    client,
    world,  # noqa: F811  (the fixture imported above)
    private_media,
    en,
    operator,
):
    """All cases share one world (building it is most of the cost), each in a savepoint rolled back
    after it; every failing case is reported. SPINDLE_FUZZ_ONLY=QuoteForm runs the matching ones."""
    only = os.environ.get("SPINDLE_FUZZ_ONLY", "")
    failures, ran = [], 0
    for name, form_class, case in CASES:
        if only not in name:
            continue
        ran += 1
        cache.clear()  # allauth's rate limits
        client.logout()
        try:
            with transaction.atomic():
                _fuzz(request, client, world, private_media, form_class, case)
                raise _Undo
        except _Undo:
            pass
        except Exception as error:  # reported below, with the falsifying example
            failures.append(f"{name}: {''.join(traceback.format_exception_only(error))}")
    assert ran
    assert not failures, "\n\n".join(failures)


def _fuzz(request, client, objects, private_media, form_class, case):
    overrides = case.setup(objects) if case.setup else {}
    url = url_for(case.route, {**objects, **overrides})
    if case.persona:
        client.force_login(request.getfixturevalue(case.persona))
    form_fields = case.fields(objects).fields if case.fields else form_class.base_fields
    prefix = case.prefix(objects) if case.prefix else None
    bound_at_least_once = []

    @PER_FORM
    @given(data=form_data(form_fields, prefix=prefix), htmx=st.booleans())
    def fuzz(data, htmx):
        before, files_before = table_digest(), stored_files(private_media)
        headers = {"HX-Request": "true"} if htmx else {}
        client.cookies.pop("messages", None)  # so that the messages seen are this request's
        # Each request in its own savepoint: a database error it raises is undone with it, so that
        # hypothesis can go on to shrink the example.
        with bound_forms(form_class) as seen, transaction.atomic():
            if case.method == "get":
                response = client.get(url, encode(data, files=False), headers=headers)
            else:
                response = client.post(url, encode(data, files=True), headers=headers)
        status = response.status_code
        assert status < 500, (form_class.__name__, data, response.content[:500])
        changed = changed_tables(before, table_digest())
        files_changed = stored_files(private_media) != files_before
        errors_flashed = _flashed(response, message_levels.WARNING) if status == 302 else []
        invalid = [form for form in seen if not form.is_valid()]
        bound_at_least_once.extend(seen)
        refused = case.method == "get" or invalid or errors_flashed or status >= 400
        if refused:
            assert not changed and not files_changed, (form_class.__name__, data, changed, status, errors_flashed)
        if invalid and case.method == "post":  # a GET filter that cannot apply is ignored
            if status == 302:
                assert errors_flashed, (form_class.__name__, data, "a redirect that says nothing")
            else:
                with translation.override("en"):
                    texts = _error_texts(invalid[0]) + _flashed(response, message_levels.WARNING)
                page = response.content.decode()
                assert any(escape(text) in page for text in texts), (form_class.__name__, data, texts, status)

    fuzz()
    if case.binds:
        assert bound_at_least_once, f"{case.route} never bound {form_class.__name__}: fix the case's setup"
