from django.contrib import admin

from billing.models import JournalTransaction, LedgerAccount, Posting


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money rows are append-only: the admin shows them and never edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "currency", "organisation", "type", "created_at"]
    list_filter = ["type", "currency", "code"]
    search_fields = ["code", "organisation__name"]


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ["account", "side", "amount", "currency"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "kind", "effective_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo"]
    inlines = [PostingInline]
