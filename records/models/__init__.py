from records.models.access import (
    BREAK_GLASS_DURATION,
    SELF_CLAIM_DURATION,
    AccessGrant,
    PersonUserObjectPermission,
    SensitiveCode,
)
from records.models.correction import CorrectionRequest
from records.models.entry import Entry, EntryCategory, Sensitivity
from records.models.organisation import Organisation, SourceSystem
from records.models.person import LocalIdentifier, Person, PersonAddress
from records.models.staff import Membership, Role, User

__all__ = [
    "BREAK_GLASS_DURATION",
    "SELF_CLAIM_DURATION",
    "AccessGrant",
    "CorrectionRequest",
    "Entry",
    "EntryCategory",
    "LocalIdentifier",
    "Membership",
    "Organisation",
    "Person",
    "PersonAddress",
    "PersonUserObjectPermission",
    "Role",
    "SensitiveCode",
    "Sensitivity",
    "SourceSystem",
    "User",
]
