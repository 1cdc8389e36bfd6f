from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from marketplace import api_key_views, match_views, views, webhook_views
from marketplace.api.docs import ApiDocs, ApiRedoc, ApiSchema

# The admin's own login form would bypass allauth (and so MFA): route it through allauth.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Spindle"
admin.site.site_title = "Spindle"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("org/new/", views.organisation_create, name="organisation_create"),
    path("org/switch/", views.organisation_switch, name="organisation_switch"),
    path("org/settings/", views.organisation_settings, name="organisation_settings"),
    path("org/members/", views.organisation_members, name="organisation_members"),
    path("org/notifications/", match_views.match_notification_settings, name="match_notification_settings"),
    path("org/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("org/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("org/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("notifications/", views.notifications, name="notifications"),
    path("org/api-keys/", api_key_views.api_keys, name="api_keys"),
    path("org/api-keys/<int:key_id>/revoke/", api_key_views.api_key_revoke, name="api_key_revoke"),
    path("org/webhooks/", webhook_views.webhooks, name="webhooks"),
    path("org/webhooks/<int:subscription_id>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path(
        "org/webhooks/deliveries/<int:delivery_id>/replay/",
        webhook_views.webhook_delivery_replay,
        name="webhook_delivery_replay",
    ),
    path("api/schema/", ApiSchema.as_view(), name="api_schema"),
    path("api/docs/", ApiDocs.as_view(url_name="api_schema"), name="api_docs"),
    path("api/redoc/", ApiRedoc.as_view(url_name="api_schema"), name="api_redoc"),
    path("api/v1/", include("marketplace.api_urls")),
    path("", include("marketplace.order_urls")),
    path("", include("marketplace.trade_urls")),
    path("", include("capacity.urls")),
    path("", include("billing.urls")),
    path("ops/", include("marketplace.ops_urls")),
    path("admin/", admin.site.urls),
]

# Unknown URLs under /api/ answer 404 in the API error format (marketplace.api.errors).
handler404 = "marketplace.api.errors.page_not_found"
