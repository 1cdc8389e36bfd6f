"""Order pages: the buyer's wizard and lists, the shared order for providers, drawings.

Buyer pages fetch the order *with* the active organisation (another organisation's order is
a 404). The order page and drawing URLs also admit providers the order is shared with and
operators (selectors.orders.order_access); everyone else gets a 404 and nothing is logged.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from capacity.reference import city_index, province_names
from marketplace import drawings
from marketplace.access import active_membership, buyer_required, organisation_required, provider_required
from marketplace.errors import DomainError
from marketplace.models import ALLOWED_TRANSITIONS, FileAccessLog, Order, OrderFile, OrderShare
from marketplace.order_forms import (
    CancelForm,
    DeliveryForm,
    NdaForm,
    ShareForm,
    SpecForm,
    StatusFilterForm,
    UploadForm,
    WhatForm,
)
from marketplace.selectors import orders as selectors
from marketplace.services import orders as services
from marketplace.services.orders import IncompleteOrderError

STEPS = [
    ("what", gettext_lazy("What")),
    ("spec", gettext_lazy("Specification")),
    ("drawings", gettext_lazy("Drawings")),
    ("delivery", gettext_lazy("Delivery and budget")),
    ("review", gettext_lazy("Review and submit")),
]
STEP_NAMES = [name for name, _label in STEPS]
STEP_FORMS = {"what": WhatForm, "spec": SpecForm, "drawings": NdaForm, "delivery": DeliveryForm}


def _buyer_order(request, order_id: int) -> Order:
    order = (
        Order.objects.select_related("category", "category__parent", "material", "measurand", "buyer")
        .filter(pk=order_id, buyer=request.organisation)
        .first()
    )
    if order is None:
        raise Http404
    return order


def _access(request, order_id: int) -> selectors.OrderAccess:
    """Signed-in viewer's access to the order (buyer, shared provider, operator) or 404."""
    membership = active_membership(request)
    access = selectors.order_access(
        user=request.user, organisation=membership.organisation if membership else None, order_id=order_id
    )
    if access is None:
        raise Http404
    return access


def _signed_in(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _org_zone(order: Order) -> ZoneInfo:
    try:
        return ZoneInfo(order.buyer.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")


def location_label(order: Order) -> str:
    if not (order.province and order.city):
        return ""
    english = (request_language() or "").startswith("en")
    province = province_names().get(order.province, (order.province, order.province))
    city = city_index().get((order.province, order.city), {})
    city_name = city.get("name_en" if english else "name_zh", order.city)
    return f"{province[1] if english else province[0]} · {city_name}"


def request_language() -> str:
    from django.utils.translation import get_language

    return (get_language() or "zh-hans").lower()


# --- lists ----------------------------------------------------------------------------------


@buyer_required
@require_GET
def order_list(request):
    form = StatusFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else None
    orders = selectors.buyer_orders(organisation=request.organisation, status=status)
    return render(request, "orders/list.html", {"orders": orders, "filter_form": form, "status": status})


@provider_required
@require_GET
def shared_order_list(request):
    orders = selectors.shared_orders(organisation=request.organisation)
    return render(request, "orders/shared_list.html", {"orders": orders})


# --- the wizard -----------------------------------------------------------------------------


def _wizard_context(order, step, **extra):
    index = STEP_NAMES.index(step)
    return {
        "order": order,
        "step": step,
        "steps": STEPS,
        "step_index": index + 1,
        "step_label": dict(STEPS)[step],
        "previous_step": STEP_NAMES[index - 1] if index > 0 else None,
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None,
        **extra,
    }


@buyer_required
def order_create(request):
    """Step 1 of a new order; saving it creates the draft."""
    form = WhatForm(request.POST or None, instance=Order(buyer=request.organisation))
    if request.method == "POST" and form.is_valid():
        try:
            order = services.create_order(buyer=request.organisation, by=request.user, fields=form.changes())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("order_wizard", order_id=order.pk, step="spec")
    return render(request, "orders/wizard.html", _wizard_context(None, "what", form=form))


@buyer_required
def order_category_options(request):
    """htmx: the category selects for the chosen kind (and category)."""
    form = WhatForm(initial={"kind": request.GET.get("kind"), "major": request.GET.get("major")})
    return render(request, "orders/_category_fields.html", {"form": form})


@organisation_required
def order_wizard(request, order_id: int, step: str):
    order = _buyer_order(request, order_id)
    if step not in STEP_NAMES:
        raise Http404
    if not order.is_editable:
        messages.info(request, _("This order can no longer be changed."))
        return redirect("order_detail", order_id=order.pk)
    with timezone.override(_org_zone(order)):
        if step == "review":
            return _review(request, order)
        form_class = STEP_FORMS[step]
        form = form_class(request.POST or None, instance=order)
        if request.method == "POST" and form.is_valid():
            try:
                services.update_order(order=order, by=request.user, changes=form.changes())
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if request.POST.get("action") == "save":
                    messages.success(request, _("Draft saved."))
                    return redirect("order_wizard", order_id=order.pk, step=step)
                return redirect("order_wizard", order_id=order.pk, step=STEP_NAMES[STEP_NAMES.index(step) + 1])
        if request.method == "POST":
            order.refresh_from_db()
        extra = {"form": form}
        if step == "drawings":
            extra.update(_files_context(order))
        return render(request, "orders/wizard.html", _wizard_context(order, step, **extra))


def _review(request, order):
    problems, error = [], None
    if request.method == "POST":
        try:
            services.submit_order(order=order, by=request.user)
        except IncompleteOrderError as incomplete:
            error, problems = incomplete.message, incomplete.problems
        except DomainError as refused:
            error = refused.message
        else:
            messages.success(request, _("Order submitted. It is now open for matching."))
            return redirect("order_detail", order_id=order.pk)
    elif order.status == Order.Status.DRAFT:
        problems = services.order_problems(order)
    context = _wizard_context(
        order,
        "review",
        problems=problems,
        submit_error=error,
        files=order.files.all(),
        location=location_label(order),
        show_budget=True,
    )
    return render(request, "orders/wizard.html", context, status=200)


# --- drawings: upload, remove, open ---------------------------------------------------------


def _files_context(order, *, upload_form=None, upload_error=None):
    return {
        "files": order.files.all(),
        "upload_form": upload_form or UploadForm(),
        "upload_error": upload_error,
        "max_upload_mb": drawings.max_upload_bytes() // (1024 * 1024),
    }


def _files_response(request, order, *, error=None):
    if request.htmx:
        return render(request, "orders/_files.html", {"order": order, **_files_context(order, upload_error=error)})
    if error:
        messages.error(request, error)
    return redirect("order_wizard", order_id=order.pk, step="drawings")


@csrf_exempt
@organisation_required
def order_file_upload(request, order_id: int):
    """Receive one drawing. The size cap is enforced while the body is read: the handler must
    be installed before anything (the CSRF check included) touches request.POST."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    order = _buyer_order(request, order_id)
    if drawings.request_too_large(request):
        # Refused from the declared length alone: the body is never read.
        return _files_response(request, order, error=drawings.too_large_message())
    request.upload_handlers.insert(0, drawings.SizeLimitUploadHandler(request))
    return _receive_upload(request, order)


@csrf_protect
def _receive_upload(request, order):
    upload = request.FILES.get("file")  # parses the body, through SizeLimitUploadHandler
    if getattr(request, "upload_too_large", False):
        return _files_response(request, order, error=drawings.too_large_message())
    if upload is None:
        return _files_response(request, order, error=_("Choose a file to upload."))
    try:
        order_file = services.add_order_file(order=order, by=request.user, upload=upload)
    except DomainError as error:
        return _files_response(request, order, error=error.message)
    if not request.htmx:
        messages.success(request, _("%(name)s uploaded.") % {"name": order_file.original_name})
    return _files_response(request, order)


@organisation_required
@require_POST
def order_file_remove(request, order_id: int, drawing_id: int):
    order = _buyer_order(request, order_id)
    order_file = OrderFile.objects.filter(order=order, pk=drawing_id).first()
    if order_file is None:
        raise Http404
    try:
        services.remove_order_file(order_file=order_file, by=request.user)
    except DomainError as error:
        return _files_response(request, order, error=error.message)
    if not request.htmx:
        messages.success(request, _("%(name)s removed.") % {"name": order_file.original_name})
    return _files_response(request, order)


@_signed_in
@require_GET
def order_file_view(request, order_id: int, drawing_id: int):
    """Open (or with ?download=1, download) a drawing: access checked, then logged once.

    PDFs are served as a copy watermarked with the viewer's organisation and the time.
    """
    access = _access(request, order_id)
    order_file = selectors.order_file(access, drawing_id)
    if order_file is None:
        raise Http404
    refusal = selectors.drawing_refusal(access)
    if refusal:
        return render(request, "orders/file_refused.html", {"order": access.order, "reason": refusal}, status=403)
    download = request.GET.get("download") == "1"
    now = timezone.now()
    if order_file.kind == OrderFile.Kind.PDF:
        viewer = access.organisation.name if access.organisation else request.user.email
        with order_file.file.open("rb") as source:
            try:
                body = drawings.watermark_pdf(
                    source, organisation_name=viewer, at=timezone.localtime(now, _org_zone(access.order))
                )
            except Exception:  # a PDF that passed the upload check but cannot be rewritten
                return render(
                    request,
                    "orders/file_refused.html",
                    {"order": access.order, "reason": _("This PDF cannot be prepared for viewing.")},
                    status=422,
                )
        response = HttpResponse(body, content_type="application/pdf")
        disposition = "attachment" if download else "inline"
        response["Content-Disposition"] = _disposition(disposition, order_file.original_name)
    else:
        response = FileResponse(
            order_file.file.open("rb"),
            as_attachment=download,
            filename=order_file.original_name,
            content_type=order_file.content_type,
        )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    services.record_file_access(
        order_file=order_file,
        user=request.user,
        organisation=access.organisation,
        action=FileAccessLog.Action.DOWNLOAD if download else FileAccessLog.Action.VIEW,
        ip=request.META.get("REMOTE_ADDR"),
    )
    return response


def _disposition(kind: str, filename: str) -> str:
    from django.utils.http import content_disposition_header

    return content_disposition_header(kind == "attachment", filename) or kind


# --- the order page -------------------------------------------------------------------------


@_signed_in
@require_GET
def order_detail(request, order_id: int):
    access = _access(request, order_id)
    order = access.order
    context = {
        "access": access,
        "order": order,
        "files": order.files.all() if access.sees_files else [],
        "location": location_label(order),
        "show_budget": access.sees_budget,
        "can_match": (access.is_buyer or access.is_operator) and order.status in ("open", "matched"),
        "drawing_refusal": selectors.drawing_refusal(access),
    }
    if access.is_buyer or access.is_operator:
        context.update(
            events=order.events.select_related("actor"),
            shares=selectors.shares_with_nda(order),
            can_cancel=Order.Status.CANCELLED in ALLOWED_TRANSITIONS[order.status],
        )
    if access.is_buyer:
        context.update(
            share_form=ShareForm(providers=selectors.shareable_providers(order)) if order.is_shareable else None,
            cancel_form=CancelForm(),
        )
    if access.is_provider:
        context["nda_accepted"] = selectors.nda_accepted(access)
    return render(request, "orders/detail.html", context)


@organisation_required
@require_POST
def order_cancel(request, order_id: int):
    order = _buyer_order(request, order_id)
    form = CancelForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.cancel_order(order=order, by=request.user, note=note)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Order cancelled."))
    return redirect("order_detail", order_id=order.pk)


@organisation_required
@require_POST
def order_share(request, order_id: int):
    order = _buyer_order(request, order_id)
    form = ShareForm(request.POST, providers=selectors.shareable_providers(order))
    if not form.is_valid():
        messages.error(request, _("Choose a provider to share the order with."))
        return redirect("order_detail", order_id=order.pk)
    try:
        services.share_order(order=order, provider=form.cleaned_data["provider"], by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Order shared with %(name)s.") % {"name": form.cleaned_data["provider"].name})
    return redirect("order_detail", order_id=order.pk)


@organisation_required
@require_POST
def order_unshare(request, order_id: int, share_id: int):
    order = _buyer_order(request, order_id)
    share = OrderShare.objects.filter(order=order, pk=share_id).select_related("provider").first()
    if share is None:
        raise Http404
    services.unshare_order(share=share, by=request.user)
    messages.success(request, _("%(name)s no longer sees this order.") % {"name": share.provider.name})
    return redirect("order_detail", order_id=order.pk)


@organisation_required
@require_POST
def order_nda_accept(request, order_id: int):
    access = _access(request, order_id)
    if not access.is_provider:
        raise Http404
    try:
        services.accept_nda(order=access.order, organisation=request.organisation, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("NDA accepted. The drawings are open to your organisation."))
    return redirect(reverse("order_detail", args=[access.order.pk]) + "#drawings")
