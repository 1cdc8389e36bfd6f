"""Trade routes: the job board, trades, RFQs and quotes."""

from django.urls import path

from marketplace import trade_views as views

urlpatterns = [
    path("jobs/", views.job_board, name="job_board"),
    path("trades/", views.trade_list, name="trade_list"),
    path("trades/<int:trade_id>/", views.trade_detail, name="trade_detail"),
    path("trades/<int:trade_id>/transition/", views.trade_transition, name="trade_transition"),
    path("trades/<int:trade_id>/delivery/", views.trade_delivery, name="trade_delivery"),
    path("trades/<int:trade_id>/inspection/", views.trade_inspection, name="trade_inspection"),
    path("trades/<int:trade_id>/report/", views.trade_report, name="trade_report"),
    path("trades/<int:trade_id>/messages/", views.trade_message, name="trade_message"),
    path("trades/<int:trade_id>/attachments/<int:attachment_id>/", views.trade_attachment, name="trade_attachment"),
    path("trades/<int:trade_id>/bookings/<int:link_id>/move/", views.trade_reschedule, name="trade_reschedule"),
    path("trades/<int:trade_id>/bookings/<int:link_id>/no-show/", views.trade_no_show, name="trade_no_show"),
    path("trades/<int:trade_id>/review/", views.trade_review, name="trade_review"),
    path(
        "trades/<int:trade_id>/bookings/<int:link_id>/overrun/",
        views.trade_overrun_approve,
        name="trade_overrun_approve",
    ),
    path("trades/<int:trade_id>/bookings/<int:link_id>/job-report/", views.trade_job_report, name="trade_job_report"),
    path(
        "trades/<int:trade_id>/job-reports/<int:report_id>/confirm/",
        views.trade_job_report_confirm,
        name="trade_job_report_confirm",
    ),
    path(
        "trades/<int:trade_id>/job-reports/<int:report_id>/dispute/",
        views.trade_job_report_dispute,
        name="trade_job_report_dispute",
    ),
    path(
        "trades/<int:trade_id>/job-reports/<int:report_id>/evidence/",
        views.trade_job_report_evidence,
        name="trade_job_report_evidence",
    ),
    path("orders/<int:order_id>/rfq/", views.order_rfq, name="order_rfq"),
    path("orders/<int:order_id>/quotes/", views.order_quotes, name="order_quotes"),
    path("quotes/<int:quote_id>/award/", views.quote_award, name="quote_award"),
    path("rfq/<int:rfq_invitation_id>/", views.rfq_respond, name="rfq_respond"),
    path("rfq/<int:rfq_invitation_id>/decline/", views.rfq_decline, name="rfq_decline"),
]
