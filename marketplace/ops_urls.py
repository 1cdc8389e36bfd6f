"""Operator console routes, under /ops/ (provider and listing review live in capacity.urls)."""

from django.urls import path

from marketplace import ops_views as views

urlpatterns = [
    path("", views.ops_home, name="ops_home"),
    path("flags/", views.ops_flags, name="ops_flags"),
    path("flags/<int:flag_id>/resolve/", views.ops_flag_resolve, name="ops_flag_resolve"),
    path("disputes/", views.ops_disputes, name="ops_disputes"),
    path("disputes/<int:trade_id>/", views.ops_dispute, name="ops_dispute"),
    path("disputes/<int:trade_id>/resolve/", views.ops_dispute_resolve, name="ops_dispute_resolve"),
    path("organisations/", views.ops_organisations, name="ops_organisations"),
    path("organisations/<int:organisation_id>/", views.ops_organisation, name="ops_organisation"),
    path(
        "organisations/<int:organisation_id>/suspend/",
        views.ops_organisation_suspend,
        name="ops_organisation_suspend",
    ),
    path("organisations/<int:organisation_id>/lift/", views.ops_organisation_lift, name="ops_organisation_lift"),
    path("audit/", views.ops_audit, name="ops_audit"),
    path("dashboard/", views.ops_dashboard, name="ops_dashboard"),
]
