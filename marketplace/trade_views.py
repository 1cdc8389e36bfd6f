"""Trade pages: the provider's job board, trade lists, the trade page with its actions,
thread and files; RFQs, the provider's quote form and the buyer's quote comparison.

Every view fetches its object *with* the viewer's scope (selectors.trades): another
organisation's trade, quote, message or file is a 404, and nothing is logged for it.
"""

from __future__ import annotations

import mimetypes
from datetime import timedelta
from pathlib import PurePath
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from capacity.services.booking import SlotTaken
from marketplace import drawings
from marketplace.access import active_membership, organisation_required, provider_required
from marketplace.errors import DomainError
from marketplace.models import Order, Quote, Review, Trade
from marketplace.selectors import reputation
from marketplace.selectors import trade_usage as usage_selectors
from marketplace.selectors import trades as selectors
from marketplace.services import quotes as quote_services
from marketplace.services import trade_usage as usage_services
from marketplace.services import trades as services
from marketplace.services.quotes import rfq_max
from marketplace.trade_forms import (
    DeclineForm,
    DeliveryForm,
    InspectionForm,
    JobReportDisputeForm,
    JobReportForm,
    MessageForm,
    NoShowForm,
    QuoteForm,
    RescheduleForm,
    ReviewForm,
    RFQForm,
    SideFilterForm,
    TransitionForm,
)


def _signed_in(view):
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _access(request, trade_id: int) -> selectors.TradeAccess:
    membership = active_membership(request)
    access = selectors.trade_access(
        user=request.user, organisation=membership.organisation if membership else None, trade_id=trade_id
    )
    if access is None:
        raise Http404
    return access


def _party(request, trade_id: int) -> selectors.TradeAccess:
    """Only the two parties act on a trade's bookings, thread and files' uploads."""
    access = _access(request, trade_id)
    if not access.is_party:
        raise Http404
    return access


def _zone(organisation) -> ZoneInfo:
    try:
        return ZoneInfo(organisation.time_zone if organisation else "Asia/Shanghai")
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")


def _back(trade_id: int, anchor: str = ""):
    return redirect(reverse("trade_detail", args=[trade_id]) + (f"#{anchor}" if anchor else ""))


def _with_upload_limit(inner):
    """Install the size-capping upload handler before anything reads the body (the CSRF check
    included), as the drawing upload does; then check CSRF and run ``inner``."""
    protected = csrf_protect(inner)

    @csrf_exempt
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if drawings.request_too_large(request):
            # Refused from the declared length alone; the scope is still checked first.
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            _party(request, kwargs["trade_id"])
            messages.error(request, drawings.too_large_message())
            return _back(kwargs["trade_id"])
        request.upload_handlers.insert(0, drawings.SizeLimitUploadHandler(request))
        return protected(request, *args, **kwargs)

    wrapper.__name__ = inner.__name__
    return wrapper


# --- lists and the job board ----------------------------------------------------------------


@organisation_required
@require_GET
def trade_list(request):
    form = SideFilterForm(request.GET or None)
    side = status = None
    if form.is_valid():
        side, status = form.cleaned_data["side"] or None, form.cleaned_data["status"] or None
    trades = selectors.trades_of(organisation=request.organisation, side=side, status=status)
    return render(request, "trades/list.html", {"trades": trades, "filter_form": form})


@provider_required
@require_GET
def job_board(request):
    zone = _zone(request.organisation)
    now = timezone.now()
    first_day = timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = selectors.booking_gantt(organisation=request.organisation, start=first_day, tz=zone)
    days = [first_day + timedelta(days=n) for n in range(selectors.GANTT_DAYS)]
    context = {
        "invitations": selectors.open_invitations(organisation=request.organisation),
        "answered": selectors.answered_invitations(organisation=request.organisation),
        "gantt_rows": rows,
        "gantt_days": [(index * 100, day) for index, day in enumerate(days)],
        "gantt_height": 24,
        "now_x": round((now - first_day).total_seconds() / (14 * 86400) * selectors.GANTT_WIDTH, 1),
        "time_zone": zone.key,
        "active_trades": selectors.trades_of(organisation=request.organisation, side="provider").exclude(
            status__in=Trade.FINAL
        ),
    }
    return render(request, "trades/jobs.html", context)


# --- the trade page --------------------------------------------------------------------------


@_signed_in
@require_GET
def trade_detail(request, trade_id: int):
    access = _access(request, trade_id)
    trade = access.trade
    now = timezone.now()
    bookings = list(selectors.trade_bookings(trade))
    reviewed = Review.objects.filter(trade=trade, author=access.organisation).exists() if access.is_party else True
    usage_rows = usage_selectors.trade_usage(bookings, now=now)
    for row in usage_rows:
        row.report_form = JobReportForm(prefix=f"report-{row.link.pk}") if access.is_provider else None
        live = row.live_report
        row.dispute_form = JobReportDisputeForm(prefix=f"dispute-{live.pk}") if live and access.is_buyer else None
    context = {
        "access": access,
        "trade": trade,
        "events": trade.events.select_related("actor"),
        "actions": selectors.next_actions(trade, access.role),
        "bookings": bookings,
        "usage_rows": usage_rows,
        "now": now,
        "thread": trade.messages.select_related("author", "organisation").prefetch_related("attachments"),
        "message_form": MessageForm(),
        "delivery_form": DeliveryForm(initial={"carrier": trade.carrier, "tracking_number": trade.tracking_number}),
        "inspection_form": InspectionForm(initial={"accepted": trade.quantity, "rejected": 0}),
        "reschedule_form": RescheduleForm(),
        "review_form": ReviewForm() if access.is_party and not reviewed else None,
        "reviews": trade.reviews.select_related("author"),
        "accept_attribute": drawings.ACCEPT_ATTRIBUTE,
        "can_record_delivery": access.is_provider
        and trade.status in (Trade.Status.IN_PRODUCTION, Trade.Status.PRODUCED, Trade.Status.DELIVERED),
        "can_inspect": access.is_buyer and trade.status == Trade.Status.DELIVERED,
        "can_reschedule": access.is_party and trade.status == Trade.Status.CONFIRMED,
        "can_review": access.is_party and trade.status in (Trade.Status.COMPLETED, Trade.Status.RESOLVED),
    }
    return render(request, "trades/detail.html", context)


@_signed_in
@require_POST
def trade_transition(request, trade_id: int):
    access = _access(request, trade_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That action is not available."))
        return _back(trade_id)
    to = form.cleaned_data["to"]
    if to == Trade.Status.RESOLVED:
        # Resolving needs a decision (redo, rejection, refund) settled through billing.
        messages.error(request, _("Resolve a dispute on its dispute page, with a decision."))
        if access.is_operator:
            return redirect("ops_dispute", trade_id=trade_id)
        return _back(trade_id)
    try:
        services.transition_trade(
            trade=access.trade, to=to, by=request.user, note=form.cleaned_data["note"], as_role=access.role
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Trade is now %(status)s.") % {"status": Trade.Status(to).label})
    return _back(trade_id)


@_signed_in
@require_POST
def trade_delivery(request, trade_id: int):
    access = _party(request, trade_id)
    form = DeliveryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the delivery details."))
        return _back(trade_id, "delivery")
    try:
        services.record_delivery(trade=access.trade, by=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Delivery recorded."))
    return _back(trade_id, "delivery")


def _inspection(request, trade_id: int):
    access = _party(request, trade_id)
    form = InspectionForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        messages.error(request, drawings.too_large_message())
        return _back(trade_id, "inspection")
    if not form.is_valid():
        messages.error(request, _("Give the accepted and rejected counts."))
        return _back(trade_id, "inspection")
    data = form.cleaned_data
    try:
        services.record_inspection(
            trade=access.trade,
            by=request.user,
            accepted=data["accepted"],
            rejected=data["rejected"],
            reasons=data["reasons"],
            report=data["report"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Inspection recorded."))
    return _back(trade_id, "inspection")


trade_inspection = _with_upload_limit(_inspection)


def _serve(request, access, *, field_file, name: str, content_type: str, attachment=None):
    download = request.GET.get("download") == "1"
    response = FileResponse(field_file.open("rb"), as_attachment=download, filename=name, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    services.record_trade_file_access(
        trade=access.trade,
        attachment=attachment,
        user=request.user,
        organisation=access.organisation,
        ip=request.META.get("REMOTE_ADDR"),
    )
    return response


@_signed_in
@require_GET
def trade_report(request, trade_id: int):
    access = _access(request, trade_id)
    trade = access.trade
    if not trade.inspection_report:
        raise Http404
    return _serve(
        request,
        access,
        field_file=trade.inspection_report,
        name=trade.inspection_report_name,
        content_type=trade.inspection_report_type,
    )


def _message(request, trade_id: int):
    access = _party(request, trade_id)
    uploads = request.FILES.getlist("files")
    if getattr(request, "upload_too_large", False):
        messages.error(request, drawings.too_large_message())
        return _back(trade_id, "thread")
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a message or attach a file."))
        return _back(trade_id, "thread")
    try:
        services.post_message(
            trade=access.trade,
            by=request.user,
            organisation=access.organisation,
            body=form.cleaned_data["body"],
            uploads=uploads,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Message sent."))
    return _back(trade_id, "thread")


trade_message = _with_upload_limit(_message)


@_signed_in
@require_GET
def trade_attachment(request, trade_id: int, attachment_id: int):
    access = _access(request, trade_id)
    attachment = selectors.attachment_of(access, attachment_id)
    if attachment is None:
        raise Http404
    return _serve(
        request,
        access,
        field_file=attachment.file,
        name=attachment.original_name,
        content_type=attachment.content_type,
        attachment=attachment,
    )


@_signed_in
@require_POST
def trade_reschedule(request, trade_id: int, link_id: int):
    access = _party(request, trade_id)
    link = selectors.trade_booking_of(access, link_id)
    if link is None:
        raise Http404
    with timezone.override(_zone(access.organisation)):
        form = RescheduleForm(request.POST)
        valid = form.is_valid()
    if not valid:
        messages.error(request, " ".join(" ".join(errors) for errors in form.errors.values()))
        return _back(trade_id, "bookings")
    try:
        services.reschedule_booking(
            link=link, start=form.cleaned_data["start"], end=form.cleaned_data["end"], by=request.user
        )
    except SlotTaken as taken:
        options = ", ".join(
            f"{timezone.localtime(a):%m-%d %H:%M}–{timezone.localtime(b):%H:%M}" for a, b in taken.alternatives
        )
        messages.error(request, f"{taken.message} {options}".strip())
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Booking moved."))
    return _back(trade_id, "bookings")


@_signed_in
@require_POST
def trade_no_show(request, trade_id: int, link_id: int):
    access = _access(request, trade_id)
    link = selectors.trade_booking_of(access, link_id)
    if link is None:
        raise Http404
    form = NoShowForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.record_no_show(link=link, by=request.user, note=note)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("No-show recorded."))
    return _back(trade_id, "bookings")


@_signed_in
@require_POST
def trade_review(request, trade_id: int):
    access = _party(request, trade_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a rating from 1 to 5."))
        return _back(trade_id, "reviews")
    try:
        services.leave_review(
            trade=access.trade,
            by=request.user,
            organisation=access.organisation,
            rating=form.cleaned_data["rating"],
            text=form.cleaned_data["text"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you for your review."))
    return _back(trade_id, "reviews")


# --- usage: overrun approval and job reports -------------------------------------------------


@_signed_in
@require_POST
def trade_overrun_approve(request, trade_id: int, link_id: int):
    access = _party(request, trade_id)
    link = selectors.trade_booking_of(access, link_id)
    if link is None:
        raise Http404
    try:
        usage_services.approve_overrun(link=link, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Overrun approved."))
    return _back(trade_id, "usage")


def _job_report(request, trade_id: int, link_id: int):
    access = _party(request, trade_id)
    link = selectors.trade_booking_of(access, link_id)
    if link is None:
        raise Http404
    # Read the body first: only then has the size-limiting handler seen the file (the CSRF
    # check parses it too, but a view must not depend on who happened to read it before).
    form = JobReportForm(request.POST, request.FILES, prefix=f"report-{link.pk}")
    if getattr(request, "upload_too_large", False):
        messages.error(request, drawings.too_large_message())
        return _back(trade_id, "usage")
    if not form.is_valid():
        messages.error(request, _("Give the run time in hours and the number of parts."))
        return _back(trade_id, "usage")
    try:
        usage_services.submit_trade_job_report(
            link=link,
            by=request.user,
            run_seconds=form.run_seconds,
            parts=form.cleaned_data["parts"],
            evidence=form.cleaned_data["evidence"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Job report sent to the buyer."))
    return _back(trade_id, "usage")


trade_job_report = _with_upload_limit(_job_report)


def _report_of(access, report_id: int):
    report = usage_selectors.job_report_of(access.trade, report_id)
    if report is None:
        raise Http404
    return report


@_signed_in
@require_POST
def trade_job_report_confirm(request, trade_id: int, report_id: int):
    access = _party(request, trade_id)
    report = _report_of(access, report_id)
    try:
        usage_services.confirm_trade_job_report(trade=access.trade, report=report, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Job report confirmed."))
    return _back(trade_id, "usage")


@_signed_in
@require_POST
def trade_job_report_dispute(request, trade_id: int, report_id: int):
    access = _party(request, trade_id)
    report = _report_of(access, report_id)
    form = JobReportDisputeForm(request.POST, prefix=f"dispute-{report.pk}")
    if not form.is_valid():
        messages.error(request, _("Say why you dispute the report."))
        return _back(trade_id, "usage")
    try:
        usage_services.dispute_trade_job_report(
            trade=access.trade, report=report, by=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Job report disputed."))
    return _back(trade_id, "usage")


@_signed_in
@require_GET
def trade_job_report_evidence(request, trade_id: int, report_id: int):
    access = _access(request, trade_id)
    report = _report_of(access, report_id)
    if not report.evidence:
        raise Http404
    # The stored name keeps the suffix the content check matched at upload.
    suffix = PurePath(report.evidence.name).suffix.lower()
    return _serve(
        request,
        access,
        field_file=report.evidence,
        name=f"job-report-{report.pk}{suffix}",
        content_type=mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream",
    )


# --- RFQs and quotes ------------------------------------------------------------------------


def _buyer_order(request, order_id: int) -> Order:
    order = Order.objects.select_related("buyer", "category").filter(pk=order_id, buyer=request.organisation).first()
    if order is None:
        raise Http404
    return order


@organisation_required
def order_rfq(request, order_id: int):
    order = _buyer_order(request, order_id)
    providers = selectors.rfq_candidates(order)
    with timezone.override(_zone(request.organisation)):
        form = RFQForm(request.POST or None, providers=providers, limit=rfq_max())
        if request.method == "POST" and form.is_valid():
            try:
                quote_services.create_rfq(
                    order=order,
                    by=request.user,
                    providers=list(form.cleaned_data["providers"]),
                    message=form.cleaned_data["message"],
                    respond_by=form.cleaned_data["respond_by"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Request for quotes sent."))
                return redirect("order_quotes", order_id=order.pk)
        return render(request, "trades/rfq_form.html", {"order": order, "form": form, "rfq_max": rfq_max()})


@organisation_required
@require_GET
def order_quotes(request, order_id: int):
    order = _buyer_order(request, order_id)
    rows = selectors.quote_comparison(order)
    now = timezone.now()
    for row in rows:
        row["expired"] = bool(row["quote"] and row["quote"].is_expired(now))
        row["reputation"] = reputation.provider_reputation(row["invitation"].provider_id)
    return render(
        request,
        "trades/quotes.html",
        {"order": order, "rows": rows, "trades": order.trades.select_related("provider"), "now": now},
    )


@organisation_required
@require_POST
def quote_award(request, quote_id: int):
    quote = selectors.buyer_quote(organisation=request.organisation, quote_id=quote_id)
    if quote is None:
        raise Http404
    try:
        trade = quote_services.award_quote(quote=quote, by=request.user)
    except SlotTaken as taken:
        messages.error(request, taken.message)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Quote awarded: trade #%(id)s created.") % {"id": trade.pk})
        return redirect("trade_detail", trade_id=trade.pk)
    return redirect("order_quotes", order_id=quote.rfq.order_id)


@organisation_required
def rfq_respond(request, rfq_invitation_id: int):
    invitation = selectors.invitation_for_provider(organisation=request.organisation, invitation_id=rfq_invitation_id)
    if invitation is None:
        raise Http404
    order = invitation.rfq.order
    quote = Quote.objects.filter(invitation=invitation).first()
    if request.method == "POST" and quote is not None:
        # The page shows the sent quote instead of the form: say why the post changed nothing.
        messages.error(request, _("You have already sent a quote for this request; nothing was changed."))
        return redirect("rfq_respond", rfq_invitation_id=invitation.pk)
    resources = selectors.quotable_resources(request.organisation)
    with timezone.override(_zone(request.organisation)):
        form = QuoteForm(request.POST or None, resources=resources)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                quote_services.submit_quote(
                    invitation=invitation,
                    by=request.user,
                    resource=data["resource"],
                    lines=form.lines(),
                    lead_time_days=data["lead_time_days"],
                    slot_start=data["slot_start"],
                    slot_end=data["slot_end"],
                    valid_until=data["valid_until"],
                    notes=data["notes"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Quote sent to %(buyer)s.") % {"buyer": order.buyer.name})
                return redirect("job_board")
        context = {
            "invitation": invitation,
            "order": order,
            "form": form,
            "decline_form": DeclineForm(),
            "quote": quote,
        }
        return render(request, "trades/quote_form.html", context)


@organisation_required
@require_POST
def rfq_decline(request, rfq_invitation_id: int):
    invitation = selectors.invitation_for_provider(organisation=request.organisation, invitation_id=rfq_invitation_id)
    if invitation is None:
        raise Http404
    form = DeclineForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        quote_services.decline_invitation(invitation=invitation, by=request.user, reason=reason)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("rfq_respond", rfq_invitation_id=invitation.pk)
    messages.success(request, _("You declined this request."))
    return redirect("job_board")
