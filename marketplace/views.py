"""Views for the site frame, organisations and notifications.

Each view fetches what it needs *with* its access check (marketplace.access), validates with
a form, calls one service and redirects or renders.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace import services
from marketplace.access import active_membership, organisation_required, owner_required, set_active_organisation
from marketplace.errors import DomainError
from marketplace.forms import InvitationForm, OrganisationForm, RoleForm, SwitchOrganisationForm
from marketplace.models import Invitation, Membership, Notification


def home(request):
    membership = active_membership(request)
    if membership is None:
        if request.user.is_authenticated and not request.user.is_staff:
            # Signed in but acting for nobody yet: everything starts with an organisation.
            return redirect("organisation_create")
        return render(request, "marketplace/home.html")
    from marketplace.selectors.dashboard_home import home_summary

    return render(
        request,
        "marketplace/dashboard.html",
        {"membership": membership, "summary": home_summary(membership.organisation)},
    )


def favicon(request):
    return redirect("/static/img/favicon.svg", permanent=True)


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@login_required
def organisation_create(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.create_organisation(
            user=request.user, name=form.cleaned_data["name"], kind=form.cleaned_data["kind"]
        )
        set_active_organisation(request, organisation.pk)
        messages.success(request, _("Organisation %(name)s created.") % {"name": organisation.name})
        return redirect("home")
    return render(request, "organisations/create.html", {"form": form})


@login_required
@require_POST
def organisation_switch(request):
    form = SwitchOrganisationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of your organisations."))
        return redirect("home")
    membership = get_object_or_404(Membership, user=request.user, organisation_id=form.cleaned_data["organisation"])
    set_active_organisation(request, membership.organisation_id)
    messages.info(request, _("You are now working for %(name)s.") % {"name": membership.organisation.name})
    return redirect("home")


@owner_required
def organisation_settings(request):
    form = OrganisationForm(request.POST or None, instance=request.organisation)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Organisation details saved."))
        return redirect("organisation_settings")
    return render(request, "organisations/settings.html", {"form": form})


@organisation_required
def organisation_members(request):
    organisation = request.organisation
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.is_owner:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.invite_member(
                    organisation=organisation,
                    invited_by=request.user,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                )
            except DomainError as error:
                form.add_error("email", error.message)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
                return redirect("organisation_members")
    members = organisation.memberships.select_related("user").order_by("user__email")
    invitations = organisation.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).order_by(
        "-created_at"
    )
    return render(
        request,
        "organisations/members.html",
        {"members": members, "invitations": invitations, "form": form, "role_choices": Membership.Role.choices},
    )


@owner_required
@require_POST
def member_role(request, membership_id: int):
    membership = get_object_or_404(Membership, pk=membership_id, organisation=request.organisation)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.change_member_role(membership=membership, role=form.cleaned_data["role"], by=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Role updated."))
    else:
        messages.error(request, _("Choose a role: owner or member."))
    return redirect("organisation_members")


@organisation_required
@require_POST
def member_remove(request, membership_id: int):
    membership = get_object_or_404(Membership, pk=membership_id, organisation=request.organisation)
    if membership.user_id != request.user.pk and not request.membership.is_owner:
        raise PermissionDenied
    try:
        services.remove_member(membership=membership, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("organisation_members")
    if membership.user_id == request.user.pk:
        messages.success(request, _("You left %(name)s.") % {"name": membership.organisation.name})
        return redirect("home")
    messages.success(request, _("Member removed."))
    return redirect("organisation_members")


@owner_required
@require_POST
def invitation_revoke(request, invitation_id: int):
    invitation = get_object_or_404(Invitation, pk=invitation_id, organisation=request.organisation)
    services.revoke_invitation(invitation=invitation, by=request.user)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("organisation_members")


@login_required
def invitation_accept(request, token: str):
    invitation = get_object_or_404(Invitation.objects.select_related("organisation"), token=token)
    if invitation.email.lower() != request.user.email.lower():
        # Do not reveal anything about an invitation addressed to somebody else.
        raise PermissionDenied
    if request.method == "POST":
        try:
            membership = services.accept_invitation(invitation=invitation, user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("home")
        set_active_organisation(request, membership.organisation_id)
        messages.success(request, _("Welcome to %(name)s.") % {"name": membership.organisation.name})
        return redirect("home")
    return render(request, "organisations/invitation.html", {"invitation": invitation})


@login_required
def notifications(request):
    if request.method == "POST":
        services.mark_notifications_read(user=request.user)
        return redirect("notifications")
    items = Notification.objects.filter(user=request.user).select_related("organisation")[:100]
    return render(request, "marketplace/notifications.html", {"notifications": items})
