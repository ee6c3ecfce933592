"""The default role catalogue: each job role, its national job role code where one fits, and what it sees.

A plain table, synced into `Role` rows by `role_catalogue_sync()`. Job role codes are UK Core SDSJobRoleName
codes (DOMAIN.md §7); roles the table there has no code for keep a blank code rather than a guessed one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from records.models import EntryCategory, Role

C = EntryCategory


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    job_role_code: str
    categories: tuple[str, ...]
    sees_demographics: bool = True
    is_clinical: bool = False
    # Safeguarding items in full: the safeguarding officer, and social workers who hold the plans.
    sees_safeguarding: bool = False
    # Break-glass is for those who treat people in an emergency; clinical roles by default.
    may_break_glass: bool | None = None
    # Off for roles that work only in Django admin.
    reads_records: bool = True

    @property
    def breaks_glass(self) -> bool:
        return self.is_clinical if self.may_break_glass is None else self.may_break_glass


# Clinicians see the whole clinical record.
CLINICAL: tuple[str, ...] = tuple(category.value for category in EntryCategory)
# Administrators book and track contacts: who is coming, who came.
ADMINISTRATIVE: tuple[str, ...] = (C.APPOINTMENT, C.ENCOUNTER)
# An ambulance crew needs what is safe to treat and whom to call.
PARAMEDIC: tuple[str, ...] = (
    C.ALLERGY,
    C.MEDICATION,
    C.PROBLEM,
    C.ALERT,
    C.RELATED_PERSON,
    C.CARE_PLAN,
    C.ENCOUNTER,
)
# Social care sees its own plans and the clinical summary it needs to plan care.
SOCIAL_CARE: tuple[str, ...] = (
    C.CARE_PLAN,
    C.ALERT,
    C.APPOINTMENT,
    C.RELATED_PERSON,
    C.PROBLEM,
    C.MEDICATION,
    C.ALLERGY,
)

ROLE_CATALOGUE: tuple[RoleSpec, ...] = (
    RoleSpec("gp", "GP", "R0260", CLINICAL, is_clinical=True),
    RoleSpec("practice-nurse", "Practice nurse", "R0620", CLINICAL, is_clinical=True),
    RoleSpec("practice-administrator", "Practice administrator", "R1730", ADMINISTRATIVE),
    RoleSpec("hospital-consultant", "Hospital consultant", "R0050", CLINICAL, is_clinical=True),
    RoleSpec("hospital-doctor", "Hospital doctor", "R0110", CLINICAL, is_clinical=True),
    RoleSpec("nurse", "Nurse", "R0620", CLINICAL, is_clinical=True),
    RoleSpec("social-worker", "Social worker", "R1330", SOCIAL_CARE, sees_safeguarding=True),
    # No job role in DOMAIN.md §7 fits a mental health practitioner, a safeguarding officer, an occupational
    # therapist, a physiotherapist or a system administrator.
    RoleSpec("mental-health-practitioner", "Mental health practitioner", "", CLINICAL, is_clinical=True),
    RoleSpec(
        "safeguarding-officer", "Safeguarding officer", "", CLINICAL, is_clinical=True, sees_safeguarding=True
    ),
    RoleSpec("occupational-therapist", "Occupational therapist", "", CLINICAL, is_clinical=True),
    RoleSpec("physiotherapist", "Physiotherapist", "", CLINICAL, is_clinical=True),
    # A radiologist is a consultant.
    RoleSpec("radiologist", "Radiologist", "R0050", CLINICAL, is_clinical=True),
    RoleSpec("paramedic", "Paramedic", "R1070", PARAMEDIC, is_clinical=True),
    RoleSpec("hospital-administrator", "Hospital administrator", "R1720", ADMINISTRATIVE),
    # They work in Django admin, not in the record.
    RoleSpec("privacy-officer", "Privacy officer", "R0001", (), sees_demographics=False, reads_records=False),
    RoleSpec(
        "system-administrator", "System administrator", "", (), sees_demographics=False, reads_records=False
    ),
)


@transaction.atomic
def role_catalogue_sync(*, reset: bool = False) -> dict[str, Role]:
    """Create the catalogue's missing roles; with `reset`, also restore edited ones to the defaults.

    Categories are edited in Django admin, so a plain sync leaves existing roles as they are. Roles added by
    hand are never touched. Returns every catalogue role by code. Writes nothing when nothing is missing.
    """
    held = {role.code: role for role in Role.objects.filter(code__in=[spec.code for spec in ROLE_CATALOGUE])}
    for spec in ROLE_CATALOGUE:
        values = {
            "name": spec.name,
            "job_role_code": spec.job_role_code,
            "categories": list(spec.categories),
            "sees_demographics": spec.sees_demographics,
            "is_clinical": spec.is_clinical,
            "sees_safeguarding": spec.sees_safeguarding,
            "may_break_glass": spec.breaks_glass,
            "reads_records": spec.reads_records,
        }
        role = held.get(spec.code)
        if role is None:
            held[spec.code] = Role.objects.create(code=spec.code, **values)
            continue
        if not reset:
            continue
        changed = [name for name, value in values.items() if getattr(role, name) != value]
        for name in changed:
            setattr(role, name, values[name])
        if changed:
            role.save(update_fields=changed)
    return held
