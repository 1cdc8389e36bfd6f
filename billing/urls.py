from django.urls import path

from billing import deposit_views, ops_views, views

app_name = "billing"

urlpatterns = [
    path("billing/", views.billing_home, name="home"),
    path("billing/details/", views.billing_details, name="details"),
    path("billing/refunds/", views.refunds, name="refunds"),
    path("billing/statement.csv", views.provider_statement_csv, name="statement_csv"),
    path("billing/invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("billing/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("billing/invoices/<int:invoice_id>/fapiao/", views.invoice_fapiao, name="invoice_fapiao"),
    path("billing/invoices/<int:invoice_id>/fapiao/upload/", views.invoice_fapiao_upload, name="invoice_fapiao_upload"),
    path("billing/invoices/<int:invoice_id>/credit-note/", views.invoice_credit_note, name="invoice_credit_note"),
    path("billing/invoices/<int:invoice_id>/supplement/", views.invoice_supplement, name="invoice_supplement"),
    path("billing/bank-refunds/<int:refund_id>/sent/", views.bank_refund_executed, name="bank_refund_executed"),
    path("billing/trades/<int:trade_id>/invoice/", views.trade_invoice_issue, name="trade_invoice_issue"),
    path("billing/invoices/<int:invoice_id>/pay/", views.invoice_pay, name="invoice_pay"),
    path("billing/deposits/<int:deposit_id>/pay/", deposit_views.deposit_pay, name="deposit_pay"),
    path(
        "ops/deposits/refunds/<int:refund_id>/sent/",
        deposit_views.ops_deposit_refund_sent,
        name="ops_deposit_refund_sent",
    ),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("billing/payouts/stripe/", views.connect_onboarding, name="connect_onboarding"),
    path("ops/payments/", views.ops_payments, name="ops_payments"),
    path("ops/payouts/", views.ops_payouts, name="ops_payouts"),
    path("ops/refunds/", ops_views.ops_refunds, name="ops_refunds"),
    path("ops/reconciliation/", ops_views.ops_reconciliation, name="ops_reconciliation"),
    path(
        "ops/reconciliation/<int:reconciliation_id>/",
        ops_views.ops_reconciliation_run,
        name="ops_reconciliation_run",
    ),
    path(
        "ops/reconciliation/items/<int:item_id>/explain/",
        ops_views.ops_reconciliation_explain,
        name="ops_reconciliation_explain",
    ),
    path("ops/period-runs/", views.ops_period_runs, name="ops_period_runs"),
]
