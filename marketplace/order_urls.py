"""Order routes (buyers' orders and wizard, matches, providers' shared and matched orders, drawings)."""

from django.urls import path

from marketplace import booking_views, match_views
from marketplace import order_views as views

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/categories/", views.order_category_options, name="order_category_options"),
    path("orders/shared/", views.shared_order_list, name="shared_order_list"),
    path("orders/matched/", match_views.matched_order_list, name="matched_order_list"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/matches/", match_views.order_matches, name="order_matches"),
    path("orders/<int:order_id>/matches/run/", match_views.order_match_run, name="order_match_run"),
    path(
        "orders/<int:order_id>/matches/runs/<int:run_id>/",
        match_views.order_match_run_status,
        name="order_match_run_status",
    ),
    path("orders/<int:order_id>/matches/compare/", match_views.order_match_compare, name="order_match_compare"),
    path("orders/<int:order_id>/matches/<int:match_id>/book/", booking_views.order_match_book, name="order_match_book"),
    path("orders/<int:order_id>/matches/split/book/", booking_views.order_split_book, name="order_split_book"),
    path("orders/<int:order_id>/matches/rfq/", booking_views.order_match_rfq, name="order_match_rfq"),
    path("orders/<int:order_id>/hold/", booking_views.order_hold, name="order_hold"),
    path("orders/<int:order_id>/hold/confirm/", booking_views.order_hold_confirm, name="order_hold_confirm"),
    path("orders/<int:order_id>/hold/release/", booking_views.order_hold_release, name="order_hold_release"),
    path("orders/<int:order_id>/edit/<slug:step>/", views.order_wizard, name="order_wizard"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:order_id>/share/", views.order_share, name="order_share"),
    path("orders/<int:order_id>/shares/<int:share_id>/remove/", views.order_unshare, name="order_unshare"),
    path("orders/<int:order_id>/nda/", views.order_nda_accept, name="order_nda_accept"),
    path("orders/<int:order_id>/files/", views.order_file_upload, name="order_file_upload"),
    path("orders/<int:order_id>/files/<int:drawing_id>/", views.order_file_view, name="order_file"),
    path("orders/<int:order_id>/files/<int:drawing_id>/remove/", views.order_file_remove, name="order_file_remove"),
]
