from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from marketplace.admin_base import ReadOnlyAdmin
from marketplace.models import (
    ApiKey,
    AuditEntry,
    FileAccessLog,
    Invitation,
    MatchRun,
    Membership,
    Notification,
    Order,
    OrderEvent,
    Organisation,
    OrganisationSuspension,
    Quote,
    Review,
    Trade,
    TradeEvent,
    TradeFlag,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from marketplace.models.matching import MatchingWeights


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["full_name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "created_at", "accepted_at", "revoked_at"]
    search_fields = ["email", "organisation__name"]
    readonly_fields = ["token"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__email"]


@admin.register(MatchingWeights)
class MatchingWeightsAdmin(admin.ModelAdmin):
    """One row: the operator tunes how matches are ranked (see marketplace.matching.ranking)."""

    list_display = ["__str__", "price", "finish", "distance", "reputation", "idle", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return not MatchingWeights.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "from_status", "to_status", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through services (transition_order), never the admin."""

    list_display = ["pk", "title", "buyer", "kind", "status", "due_at", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "buyer__name"]
    readonly_fields = ["status", "buyer", "created_by", "submitted_at"]
    raw_id_fields = ["category", "material", "measurand"]
    inlines = [OrderEventInline]


@admin.register(FileAccessLog)
class FileAccessLogAdmin(admin.ModelAdmin):
    list_display = ["at", "file", "user", "organisation", "action", "ip"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


# --- Read-only views of the trade domain: every change goes through services (state machines,
# locks, ledger); the admin is for looking things up, with search and filters.


class TradeEventInline(admin.TabularInline):
    model = TradeEvent
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ["pk", "buyer", "provider", "status", "price_estimate", "currency", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["pk", "buyer__name", "provider__name", "order__title"]
    list_select_related = ["buyer", "provider"]
    inlines = [TradeEventInline]


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = ["pk", "provider", "rfq", "total", "currency", "status", "valid_until"]
    list_filter = ["status", "currency"]
    search_fields = ["provider__name", "rfq__order__title"]


@admin.register(MatchRun)
class MatchRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "order", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["order__title"]


@admin.register(TradeFlag)
class TradeFlagAdmin(ReadOnlyAdmin):
    list_display = ["trade", "kind", "created_at", "resolved_at", "resolved_by"]
    list_filter = ["kind", "resolved_at"]


@admin.register(OrganisationSuspension)
class OrganisationSuspensionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "at", "suspended_by", "lifted_at", "lifted_by"]
    search_fields = ["organisation__name"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "subject_type", "subject_id"]
    list_filter = ["action", "subject_type"]
    search_fields = ["action", "actor__email"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are shown by prefix only; the secret exists only as a hash."""

    list_display = ["prefix", "name", "organisation", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["prefix", "name", "organisation__name"]
    exclude = ["hashed_key"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    """The signing secret stays encrypted and hidden."""

    list_display = ["url", "organisation", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "organisation__name"]
    exclude = ["secret_encrypted"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_type", "event_id", "subscription", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "subscription__url", "subscription__organisation__name"]
    list_select_related = ["subscription"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["trade", "author", "subject", "rating", "created_at"]
    list_filter = ["rating"]
