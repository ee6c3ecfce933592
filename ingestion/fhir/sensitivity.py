"""Which entries are sensitive: the code lists, kept in one place so that access control can reuse them.

The RCGP sensitive dataset (DOMAIN.md §6) is withheld by default. Only codes checked against a public
source are listed; gender reassignment has none yet, and the IVF procedure code is unverified, so it is
left out until someone checks it against the GP summary exclusion refsets on TRUD.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingestion.fhir.common import SNOMED, V3_CONFIDENTIALITY, codings, dicts
from records.models import Sensitivity

SENSITIVE_SNOMED_CODES: dict[str, str] = {
    # Sexually transmitted infections
    "76272004": Sensitivity.SEXUAL_HEALTH,  # Syphilis
    "15628003": Sensitivity.SEXUAL_HEALTH,  # Gonorrhoea
    "240589008": Sensitivity.SEXUAL_HEALTH,  # Chlamydia trachomatis infection
    "302812006": Sensitivity.SEXUAL_HEALTH,  # Genital wart virus infection
    # Whether HIV is in the refset is unverified; withholding it by default is the safer error.
    "86406008": Sensitivity.SEXUAL_HEALTH,  # HIV infection
    # Assisted conception
    "185268003": Sensitivity.FERTILITY,  # Seen in fertility clinic
    # Termination of pregnancy
    "769411000000104": Sensitivity.TERMINATION,  # Self referral to termination of pregnancy service
    "274973002": Sensitivity.TERMINATION,  # Dilation of cervix uteri and curettage for termination
}

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Sensitivity kinds a sender may label with (meta.security, DocumentReference.securityLabel).
SENSITIVE_ACT_CODES: dict[str, str] = {
    "HIV": Sensitivity.SEXUAL_HEALTH,
    "STD": Sensitivity.SEXUAL_HEALTH,
    "SEX": Sensitivity.SEXUAL_HEALTH,
    "PSY": Sensitivity.RESTRICTED,
    "ETH": Sensitivity.RESTRICTED,
    "SDV": Sensitivity.RESTRICTED,
}
RESTRICTED_CONFIDENTIALITY = frozenset({"R", "V"})


def _security_labels(resource: dict[str, Any]) -> list[dict[str, Any]]:
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    labels = dicts(meta.get("security"))
    for label in dicts(resource.get("securityLabel")):
        labels.extend(codings(label))
    return labels


def is_restricted(resource: dict[str, Any]) -> bool:
    """The sender marked it R (restricted) or V (very restricted), as PDS does for S-flag patients."""
    return any(
        label.get("system") == V3_CONFIDENTIALITY and label.get("code") in RESTRICTED_CONFIDENTIALITY
        for label in _security_labels(resource)
    )


def sensitivity_of(resource: dict[str, Any], concepts: Iterable[Any] = ()) -> str:
    """The entry's sensitivity: the sender's restriction first, then its labels, then its codes.

    A source's R/V label wins over a clinical category because it is the stricter, explicit choice.
    """
    if is_restricted(resource):
        return Sensitivity.RESTRICTED
    for label in _security_labels(resource):
        if label.get("system") == V3_ACT_CODE and label.get("code") in SENSITIVE_ACT_CODES:
            return SENSITIVE_ACT_CODES[label["code"]]
    for concept in concepts:
        for coding in codings(concept):
            if coding.get("system") == SNOMED and coding.get("code") in SENSITIVE_SNOMED_CODES:
                return SENSITIVE_SNOMED_CODES[coding["code"]]
    return Sensitivity.NORMAL
