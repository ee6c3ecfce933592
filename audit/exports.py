"""Access events as CSV and as FHIR R4 AuditEvent resources, for the privacy officer and for citizens."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from audit.models import AccessEvent

CSV_COLUMNS = [
    "seq",
    "occurred_at",
    "user",
    "role",
    "organisation_ods",
    "organisation",
    "person_nhs_number",
    "action",
    "outcome",
    "basis",
    "basis_detail",
    "detail",
    "client_ip",
]

# DICOM audit event types used by FHIR for reads (rest/read) and searches.
_SUBTYPE = {
    AccessEvent.Action.SEARCH: ("search", "search"),
    AccessEvent.Action.EXPORT: ("read", "read"),
}


def access_events_csv(events: Iterable[AccessEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.seq,
                e.occurred_at.isoformat(),
                e.user_display,
                e.role_name,
                e.organisation_ods,
                e.organisation_name,
                e.person_nhs_number,
                e.get_action_display(),
                e.outcome,
                e.basis,
                e.basis_detail,
                e.detail,
                e.client_ip or "",
            ]
        )
    return out.getvalue()


def access_event_as_fhir(event: AccessEvent) -> dict:
    code, display = _SUBTYPE.get(event.action, ("read", "read"))
    resource: dict = {
        "resourceType": "AuditEvent",
        "id": str(event.pk),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": code, "display": display}],
        "action": "E" if event.action == AccessEvent.Action.SEARCH else "R",
        "recorded": event.occurred_at.isoformat(),
        "outcome": "0" if event.outcome == AccessEvent.Outcome.ALLOWED else "4",
        "outcomeDesc": event.get_action_display() + (f" ({event.basis})" if event.basis else ""),
        "agent": [
            {
                "who": {"display": event.user_display},
                "requestor": True,
                "role": [{"text": event.role_name or "unknown role"}],
                **({"network": {"address": event.client_ip, "type": "2"}} if event.client_ip else {}),
            }
        ],
        "source": {
            "observer": {
                "identifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": event.organisation_ods or "unknown",
                },
                "display": event.organisation_name or "Shared care record",
            }
        },
    }
    if event.person_nhs_number:
        resource["entity"] = [
            {
                "what": {
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/nhs-number",
                        "value": event.person_nhs_number,
                    }
                },
                "detail": [{"type": "page", "valueString": str(event.detail)}],
            }
        ]
    if event.basis_detail:
        resource["purposeOfEvent"] = [{"text": event.basis_detail}]
    return resource


def access_events_fhir_bundle(events: Iterable[AccessEvent]) -> dict:
    entries = [{"resource": access_event_as_fhir(e)} for e in events]
    return {"resourceType": "Bundle", "type": "collection", "total": len(entries), "entry": entries}
