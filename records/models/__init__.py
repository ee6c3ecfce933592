from records.models.entry import Entry, EntryCategory, Sensitivity
from records.models.organisation import Organisation, SourceSystem
from records.models.person import LocalIdentifier, Person, PersonAddress
from records.models.staff import Membership, Role, User

__all__ = [
    "Entry",
    "EntryCategory",
    "LocalIdentifier",
    "Membership",
    "Organisation",
    "Person",
    "PersonAddress",
    "Role",
    "Sensitivity",
    "SourceSystem",
    "User",
]
