"""Writes for orders, their drawings, shares and NDAs. Views call these; they never write
the models directly.

Every change of an order's state goes through ``transition_order``, which checks the one map
of allowed transitions (marketplace.models.orders.ALLOWED_TRANSITIONS) and writes one
OrderEvent per change.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import drawings
from marketplace.errors import DomainError, PermissionDeniedError
from marketplace.models import (
    ALLOWED_TRANSITIONS,
    FileAccessLog,
    Membership,
    NdaAcceptance,
    Order,
    OrderEvent,
    OrderFile,
    OrderShare,
    Organisation,
    User,
)
from marketplace.services.accounts import notify_organisation
from marketplace.services.ops import check_not_suspended

MAX_FILES_PER_ORDER = 30

# Fields a buyer may set through create_order / update_order.
ORDER_FIELDS = frozenset(
    {
        "kind",
        "category",
        "title",
        "description",
        "material",
        "material_note",
        "quantity",
        "billing_preference",
        "material_supply",
        "material_budget",
        "tolerance_mm",
        "envelope_x_mm",
        "envelope_y_mm",
        "envelope_z_mm",
        "weight_kg",
        "cycle_time_minutes",
        "certifications",
        "measurand",
        "range_min",
        "range_max",
        "range_unit",
        "due_at",
        "province",
        "city",
        "address",
        "latitude",
        "longitude",
        "budget",
        "currency",
        "nda_required",
        "nda_text",
    }
)


class IncompleteOrderError(DomainError):
    """The order cannot be submitted yet; ``problems`` says what is missing, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(_("The order is not complete yet."), code="incomplete")
        self.problems = problems


def _require_member(organisation: Organisation, user: User) -> None:
    if not Membership.objects.filter(organisation=organisation, user=user).exists():
        raise PermissionDeniedError(_("Only members of %(name)s can do that.") % {"name": organisation.name})


def _check_fields(changes: dict[str, Any]) -> None:
    unknown = set(changes) - ORDER_FIELDS
    if unknown:
        raise ValueError(f"not order fields: {sorted(unknown)}")


def _validate(order: Order) -> None:
    """Field-level rules (validators, choices, the category's kind, certification values)."""
    from capacity.models import Certification

    try:
        order.full_clean(exclude=["buyer", "created_by"], validate_unique=False)
    except ValidationError as error:
        messages = [
            " ".join(m) if f == NON_FIELD_ERRORS else f"{order._meta.get_field(f).verbose_name}: {' '.join(m)}"
            for f, m in error.message_dict.items()
        ]
        raise DomainError(" ".join(messages), code="invalid") from error
    if order.category.kind != order.kind:
        raise DomainError(_("The category does not belong to the chosen kind of order."), code="category_kind")
    unknown = set(order.certifications) - set(Certification.Standard.values)
    if unknown:
        raise DomainError(_("Unknown certification: %(values)s.") % {"values": ", ".join(sorted(unknown))})
    if order.currency not in settings.SPINDLE_CURRENCIES:
        raise DomainError(_("Unsupported currency %(currency)s.") % {"currency": order.currency})


@transaction.atomic
def create_order(*, buyer: Organisation, by: User, fields: dict[str, Any], now: datetime | None = None) -> Order:
    """Start a draft order for ``buyer``; ``fields`` needs at least kind, category and title."""
    _require_member(buyer, by)
    if not buyer.is_buyer:
        raise PermissionDeniedError(_("Only buyer organisations can place orders."))
    check_not_suspended(buyer)
    _check_fields(fields)
    now = now or timezone.now()
    order = Order(buyer=buyer, created_by=by, status=Order.Status.DRAFT, currency=buyer.currency or "CNY")
    for name, value in fields.items():
        setattr(order, name, value)
    _validate(order)
    order.save()
    OrderEvent.objects.create(order=order, actor=by, from_status="", to_status=Order.Status.DRAFT, at=now)
    return order


@transaction.atomic
def update_order(*, order: Order, by: User, changes: dict[str, Any]) -> Order:
    """Change a draft or open order. Changing the NDA text voids earlier acceptances."""
    _require_member(order.buyer, by)
    _check_fields(changes)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if not locked.is_editable:
        raise DomainError(
            _("A %(status)s order can no longer be changed.") % {"status": locked.get_status_display()},
            code="not_editable",
        )
    nda_before = (locked.nda_required, locked.nda_text)
    for name, value in changes.items():
        setattr(locked, name, value)
    _validate(locked)
    locked.save()
    if (locked.nda_required, locked.nda_text) != nda_before:
        # Providers agreed to other terms: they must accept the new ones before opening drawings.
        NdaAcceptance.objects.filter(order=locked).delete()
    return locked


def order_problems(order: Order, *, now: datetime | None = None) -> list[str]:
    """What still keeps ``order`` from being submitted (empty when it is complete)."""
    now = now or timezone.now()
    problems = []
    if not order.title.strip():
        problems.append(_("Give the order a title."))
    if order.category_id is None or order.category.kind != order.kind:
        problems.append(_("Choose a category of the order's kind."))
    if not order.quantity or order.quantity < 1:
        problems.append(_("The quantity must be at least 1."))
    if order.due_at is None:
        problems.append(_("Set a due date."))
    elif order.due_at <= now:
        problems.append(_("The due date must be in the future."))
    if order.kind == Order.Kind.PRODUCTION and order.envelope is None:
        problems.append(_("Give the part's size (X, Y and Z) for a production order."))
    # A measurand and range are needed only where the category is defined by one quantity
    # (tensile force, length…); exposure tests such as salt spray have none.
    if order.is_measurement and order.category_id is not None and order.category.measurand:
        if order.measurand_id is None:
            problems.append(_("Choose what is to be tested or measured (the measurand)."))
        if order.range_min is None or order.range_max is None or not order.range_unit:
            problems.append(_("Give the range to be tested or measured, with its unit."))
        elif order.range_max < order.range_min:
            problems.append(_("The end of the range must not be below its start."))
    if order.nda_required and not order.nda_text.strip():
        problems.append(_("Write the NDA text providers must accept, or do not require an NDA."))
    if order.material_budget is not None and order.material_supply != Order.MaterialSupply.PROVIDER_SUPPLIED:
        problems.append(_("A material budget only applies when the provider supplies the material."))
    return problems


@transaction.atomic
def transition_order(*, order: Order, to: str, by: User | None, note: str = "", now: datetime | None = None) -> Order:
    """Move ``order`` to state ``to`` if ALLOWED_TRANSITIONS permits it, with one event row.

    A refused transition raises DomainError and writes nothing.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    current = locked.status
    if to not in ALLOWED_TRANSITIONS.get(current, ()):
        raise DomainError(
            _("An order cannot go from %(from)s to %(to)s.")
            % {"from": Order.Status(current).label, "to": Order.Status(to).label if to in Order.Status else to},
            code="transition",
        )
    now = now or timezone.now()
    Order.objects.filter(pk=locked.pk).update(status=to, updated_at=now)
    OrderEvent.objects.create(order=locked, actor=by, from_status=current, to_status=to, note=note, at=now)
    order.status = to
    return order


@transaction.atomic
def submit_order(*, order: Order, by: User, now: datetime | None = None) -> Order:
    """Draft → open, once the order is complete."""
    _require_member(order.buyer, by)
    now = now or timezone.now()
    locked = Order.objects.select_for_update().get(pk=order.pk)
    check_not_suspended(locked.buyer_id)
    if locked.status != Order.Status.DRAFT:
        raise DomainError(_("Only a draft order can be submitted."), code="not_draft")
    problems = order_problems(locked, now=now)
    if problems:
        raise IncompleteOrderError(problems)
    transition_order(order=locked, to=Order.Status.OPEN, by=by, now=now)
    Order.objects.filter(pk=locked.pk).update(submitted_at=now)
    order.status, order.submitted_at = Order.Status.OPEN, now
    return order


def cancel_order(*, order: Order, by: User, note: str = "", now: datetime | None = None) -> Order:
    """The buyer (or an operator) calls the order off."""
    if not by.is_operator:
        _require_member(order.buyer, by)
    return transition_order(order=order, to=Order.Status.CANCELLED, by=by, note=note, now=now)


# --- drawings -------------------------------------------------------------------------------


def add_order_file(*, order: Order, by: User, upload, now: datetime | None = None) -> OrderFile:
    """Store a drawing privately after checking its size, content and name.

    A refused file leaves nothing behind: no row and no stored file.
    """
    _require_member(order.buyer, by)
    if not order.is_editable:
        raise DomainError(_("Drawings can only be added while the order is a draft or open."), code="not_editable")
    detected = drawings.check_upload(upload)
    if order.files.count() >= MAX_FILES_PER_ORDER:
        raise DomainError(
            _("An order can have at most %(count)s files.") % {"count": MAX_FILES_PER_ORDER}, code="too_many"
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    original_name = PurePath(upload.name).name[:255]
    order_file = OrderFile(
        order=order,
        uploaded_by=by,
        original_name=original_name,
        content_type=detected.content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        kind=detected.kind,
        uploaded_at=now or timezone.now(),
    )
    order_file.file.save(original_name, upload, save=False)
    try:
        with transaction.atomic():
            Order.objects.select_for_update().filter(pk=order.pk, status__in=Order.EDITABLE).get()
            order_file.save()
    except Exception:
        order_file.file.delete(save=False)
        raise
    return order_file


@transaction.atomic
def remove_order_file(*, order_file: OrderFile, by: User) -> None:
    order = order_file.order
    _require_member(order.buyer, by)
    if not Order.objects.select_for_update().filter(pk=order.pk, status__in=Order.EDITABLE).exists():
        raise DomainError(_("Drawings can only be removed while the order is a draft or open."), code="not_editable")
    storage, name = order_file.file.storage, order_file.file.name
    order_file.delete()
    # The stored file goes once the row is gone for good.
    transaction.on_commit(lambda: storage.delete(name))


def record_file_access(
    *, order_file: OrderFile, user: User, organisation: Organisation | None, action: str, ip: str | None
) -> FileAccessLog:
    return FileAccessLog.objects.create(
        file=order_file, user=user, organisation=organisation, action=action, ip=ip or None
    )


# --- sharing and NDAs -----------------------------------------------------------------------


def share_order(*, order: Order, provider: Organisation, by: User) -> OrderShare:
    """Show the order (spec summary and drawings, never the budget) to a provider."""
    _require_member(order.buyer, by)
    if not order.is_shareable:
        raise DomainError(
            _("Submit the order before sharing it.")
            if order.status == Order.Status.DRAFT
            else _("A %(status)s order cannot be shared.") % {"status": order.get_status_display()},
            code="not_shareable",
        )
    if not provider.is_provider or provider.pk == order.buyer_id:
        raise DomainError(_("Orders can only be shared with provider organisations."), code="not_provider")
    try:
        with transaction.atomic():
            share = OrderShare.objects.create(order=order, provider=provider, shared_by=by)
            notify_organisation(
                organisation=provider,
                kind="order_shared",
                title=_("%(buyer)s shared an order with you: %(title)s")
                % {"buyer": order.buyer.name, "title": order.title},
                url=reverse("order_detail", args=[order.pk]),
            )
    except IntegrityError as error:
        raise DomainError(
            _("The order is already shared with %(name)s.") % {"name": provider.name}, code="already_shared"
        ) from error
    return share


@transaction.atomic
def unshare_order(*, share: OrderShare, by: User) -> None:
    _require_member(share.order.buyer, by)
    OrderShare.objects.filter(pk=share.pk).delete()


@transaction.atomic
def accept_nda(*, order: Order, organisation: Organisation, by: User, now: datetime | None = None) -> NdaAcceptance:
    """A provider the order is shared with accepts the buyer's NDA (idempotent)."""
    _require_member(organisation, by)
    if not OrderShare.objects.filter(order=order, provider=organisation).exists():
        raise PermissionDeniedError(_("This order is not shared with %(name)s.") % {"name": organisation.name})
    if not order.nda_required:
        raise DomainError(_("This order does not require an NDA."), code="no_nda")
    acceptance, _created = NdaAcceptance.objects.get_or_create(
        order=order, organisation=organisation, defaults={"user": by, "accepted_at": now or timezone.now()}
    )
    return acceptance
