from django.conf import settings

from marketplace.access import active_membership


def spindle(request):
    membership = active_membership(request) if hasattr(request, "session") else None
    unread = 0
    if membership is not None:
        unread = request.user.notifications.filter(read_at__isnull=True).count()
    return {
        "active_membership": membership,
        "active_organisation": membership.organisation if membership else None,
        "my_memberships": getattr(request, "_memberships", []),
        "unread_notifications": unread,
        "DEFAULT_CURRENCY": settings.SPINDLE_DEFAULT_CURRENCY,
    }
