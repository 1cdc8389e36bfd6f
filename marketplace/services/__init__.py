"""Writes of the trade domain, one module per subdomain (``services.orders``…).

The account and organisation services are re-exported here, so existing callers keep using
``from marketplace import services; services.create_organisation(...)``.
"""

from marketplace.services.accounts import (
    accept_invitation,
    change_member_role,
    create_organisation,
    invite_member,
    mark_notifications_read,
    notify,
    notify_organisation,
    remove_member,
    revoke_invitation,
)

__all__ = [
    "accept_invitation",
    "change_member_role",
    "create_organisation",
    "invite_member",
    "mark_notifications_read",
    "notify",
    "notify_organisation",
    "remove_member",
    "revoke_invitation",
]
