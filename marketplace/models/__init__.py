"""Models of the trade domain, one module per subdomain; everything is re-exported here so
``from marketplace.models import Organisation, Order`` keeps working."""

# _invitation_* are the defaults migration 0001 refers to as marketplace.models.<name>.
from marketplace.models.accounts import (
    INVITATION_VALIDITY,
    Invitation,
    Membership,
    Notification,
    Organisation,
    User,
    UserManager,
    _invitation_expiry,
    _invitation_token,
)
from marketplace.models.matching import Match, MatchingWeights, MatchNotice, MatchNotificationPreference, MatchRun
from marketplace.models.orders import (
    ALLOWED_TRANSITIONS,
    FileAccessLog,
    NdaAcceptance,
    Order,
    OrderEvent,
    OrderFile,
    OrderShare,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "INVITATION_VALIDITY",
    "FileAccessLog",
    "Invitation",
    "Match",
    "MatchNotice",
    "MatchNotificationPreference",
    "MatchRun",
    "MatchingWeights",
    "Membership",
    "NdaAcceptance",
    "Notification",
    "Order",
    "OrderEvent",
    "OrderFile",
    "OrderShare",
    "Organisation",
    "User",
    "UserManager",
    "_invitation_expiry",
    "_invitation_token",
]
