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
from marketplace.models.api import ApiKey, IdempotencyRecord
from marketplace.models.matching import Match, MatchingWeights, MatchNotice, MatchNotificationPreference, MatchRun
from marketplace.models.ops import AuditEntry, CertificateNotice, OrganisationSuspension, TradeFlag
from marketplace.models.orders import (
    ALLOWED_TRANSITIONS,
    FileAccessLog,
    NdaAcceptance,
    Order,
    OrderEvent,
    OrderFile,
    OrderShare,
)
from marketplace.models.trades import (
    RFQ,
    TRADE_TRANSITIONS,
    TRANSITION_ROLES,
    Quote,
    Review,
    RFQInvitation,
    Trade,
    TradeAttachment,
    TradeBooking,
    TradeEvent,
    TradeFileAccess,
    TradeMessage,
)
from marketplace.models.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "ALLOWED_TRANSITIONS",
    "INVITATION_VALIDITY",
    "RFQ",
    "TRADE_TRANSITIONS",
    "TRANSITION_ROLES",
    "ApiKey",
    "AuditEntry",
    "CertificateNotice",
    "FileAccessLog",
    "IdempotencyRecord",
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
    "OrganisationSuspension",
    "Quote",
    "RFQInvitation",
    "Review",
    "Trade",
    "TradeAttachment",
    "TradeBooking",
    "TradeEvent",
    "TradeFileAccess",
    "TradeFlag",
    "TradeMessage",
    "User",
    "UserManager",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "_invitation_expiry",
    "_invitation_token",
]
