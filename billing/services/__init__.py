"""Writes that move money (ledger, invoices, payments, payouts), split by subdomain."""
