"""A FHIR resource as a clinician reads it: labelled rows, no JSON. Pure functions, no database."""

from __future__ import annotations

from datetime import date, datetime


def _text(concept: dict | None) -> str:
    if not concept:
        return ""
    if concept.get("text"):
        return concept["text"]
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return coding["display"]
        if coding.get("code"):
            return coding["code"]
    return ""


def _texts(concepts) -> str:
    return "; ".join(t for t in (_text(c) for c in concepts or []) if t)


def _ref(reference: dict | None) -> str:
    if not reference:
        return ""
    return reference.get("display") or (reference.get("identifier") or {}).get("value", "")


def _refs(references) -> str:
    return "; ".join(r for r in (_ref(x) for x in references or []) if r)


def _when(text: str | None) -> str:
    if not text:
        return ""
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            return f"{day.day} {day:%b %Y}"
        moment = datetime.fromisoformat(text)
        return f"{moment.day} {moment:%b %Y %H:%M}"
    except ValueError:
        return text


def _period(period: dict | None) -> str:
    if not period:
        return ""
    start, end = _when(period.get("start")), _when(period.get("end"))
    if start and end:
        return f"{start} to {end}"
    return f"from {start}" if start else (f"until {end}" if end else "")


def _dosage(resource: dict) -> str:
    return "; ".join(
        d.get("text", "") for d in resource.get("dosageInstruction") or resource.get("dosage") or []
    )


def _name(resource: dict) -> str:
    for name in resource.get("name") or []:
        if name.get("text"):
            return name["text"]
        return " ".join([*name.get("given", []), name.get("family", "")]).strip()
    return ""


def _telecom(resource: dict) -> str:
    return ", ".join(t.get("value", "") for t in resource.get("telecom") or [] if t.get("value"))


def _address(resource: dict) -> str:
    for address in resource.get("address") or []:
        return ", ".join(
            [*address.get("line", []), address.get("city", ""), address.get("postalCode", "")]
        ).strip(", ")
    return ""


def _notes(resource: dict) -> str:
    return "\n".join(n.get("text", "") for n in resource.get("note") or [])


def _reaction(resource: dict) -> str:
    parts = []
    for reaction in resource.get("reaction") or []:
        manifestation = _texts(reaction.get("manifestation"))
        severity = reaction.get("severity", "")
        parts.append(f"{manifestation} ({severity})" if severity else manifestation)
    return "; ".join(p for p in parts if p)


def details(resource: dict) -> list[tuple[str, str]]:
    """Labelled rows for one resource; empty values are left out."""
    kind = resource.get("resourceType", "")
    rows: list[tuple[str, str]]
    if kind == "Condition":
        rows = [
            ("Problem", _text(resource.get("code"))),
            ("Status", _text(resource.get("clinicalStatus"))),
            ("Verification", _text(resource.get("verificationStatus"))),
            ("Onset", _when(resource.get("onsetDateTime"))),
            ("Resolved", _when(resource.get("abatementDateTime"))),
            ("Recorded by", _ref(resource.get("asserter") or resource.get("recorder"))),
            ("Notes", _notes(resource)),
        ]
    elif kind == "AllergyIntolerance":
        rows = [
            ("Allergy or intolerance", _text(resource.get("code"))),
            ("Type", ", ".join(resource.get("category") or [])),
            ("Reaction", _reaction(resource)),
            ("Criticality", resource.get("criticality", "")),
            ("Status", _text(resource.get("clinicalStatus"))),
            ("Verification", _text(resource.get("verificationStatus"))),
            ("Recorded", _when(resource.get("recordedDate"))),
            ("Recorded by", _ref(resource.get("recorder"))),
        ]
    elif kind in ("MedicationRequest", "MedicationStatement"):
        rows = [
            (
                "Medicine",
                _text(resource.get("medicationCodeableConcept")) or _ref(resource.get("medicationReference")),
            ),
            ("Dose", _dosage(resource)),
            ("Course", _text(resource.get("courseOfTherapyType"))),
            ("Status", resource.get("status", "")),
            ("Reason", _texts(resource.get("reasonCode"))),
            ("Prescribed", _when(resource.get("authoredOn") or resource.get("dateAsserted"))),
            ("Prescriber", _ref(resource.get("requester") or resource.get("informationSource"))),
            ("Notes", _notes(resource)),
        ]
    elif kind == "Encounter":
        rows = [
            ("Type", _texts(resource.get("type"))),
            ("Class", (resource.get("class") or {}).get("display", "")),
            ("When", _period(resource.get("period"))),
            ("Reason", _texts(resource.get("reasonCode"))),
            ("Seen by", "; ".join(_ref(p.get("individual")) for p in resource.get("participant") or [])),
            ("Service", _text(resource.get("serviceType"))),
            ("Provider", _ref(resource.get("serviceProvider"))),
            ("Status", resource.get("status", "")),
            (
                "Discharged to",
                _text((resource.get("hospitalization") or {}).get("dischargeDisposition")),
            ),
        ]
    elif kind == "Appointment":
        rows = [
            ("Appointment", resource.get("description", "")),
            ("Starts", _when(resource.get("start"))),
            ("Ends", _when(resource.get("end"))),
            ("Specialty", _texts(resource.get("specialty"))),
            ("Status", resource.get("status", "")),
            ("Cancelled because", _text(resource.get("cancelationReason"))),
            (
                "With",
                "; ".join(_ref(p.get("actor")) for p in resource.get("participant") or [] if p.get("type")),
            ),
        ]
    elif kind == "ServiceRequest":
        rows = [
            ("Request", _text(resource.get("code"))),
            ("Priority", resource.get("priority", "")),
            ("Reason", _texts(resource.get("reasonCode"))),
            ("To", _refs(resource.get("performer"))),
            ("By", _ref(resource.get("requester"))),
            ("Made", _when(resource.get("authoredOn"))),
            ("Status", resource.get("status", "")),
        ]
    elif kind == "Flag":
        rows = [
            ("Alert", _text(resource.get("code"))),
            ("Category", _texts(resource.get("category"))),
            ("In force", _period(resource.get("period"))),
            ("Raised by", _ref(resource.get("author"))),
            ("Status", resource.get("status", "")),
        ]
    elif kind == "RelatedPerson":
        rows = [
            ("Name", _name(resource)),
            ("Relationship", _texts(resource.get("relationship"))),
            ("Telephone", _telecom(resource)),
            ("Address", _address(resource)),
            ("Since", _period(resource.get("period"))),
        ]
    elif kind == "CarePlan":
        rows = [
            ("Plan", resource.get("title", "")),
            ("Description", resource.get("description", "")),
            ("Category", _texts(resource.get("category"))),
            ("Period", _period(resource.get("period"))),
            ("Author", _ref(resource.get("author"))),
            ("Team", _refs(resource.get("contributor"))),
            ("Notes", _notes(resource)),
            ("Status", resource.get("status", "")),
        ]
    elif kind == "DiagnosticReport":
        rows = [
            ("Report", _text(resource.get("code"))),
            ("Taken", _when(resource.get("effectiveDateTime"))),
            ("Issued", _when(resource.get("issued"))),
            ("Requested", _refs(resource.get("basedOn"))),
            ("Reported by", _refs(resource.get("resultsInterpreter")) or _refs(resource.get("performer"))),
            ("Conclusion", resource.get("conclusion", "")),
            ("Status", resource.get("status", "")),
        ]
    elif kind == "Observation":
        quantity = resource.get("valueQuantity") or {}
        value = (
            f"{quantity.get('comparator', '')}{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
        )
        ranges = resource.get("referenceRange") or [{}]
        rows = [
            ("Test", _text(resource.get("code"))),
            ("Value", value or resource.get("valueString", "")),
            ("Reference range", ranges[0].get("text", "")),
            ("Interpretation", _texts(resource.get("interpretation"))),
            ("Taken", _when(resource.get("effectiveDateTime"))),
            ("Issued", _when(resource.get("issued"))),
        ]
    elif kind == "DocumentReference":
        rows = [
            ("Document", resource.get("description", "") or _text(resource.get("type"))),
            ("Type", _text(resource.get("type"))),
            ("Written", _when(resource.get("date"))),
            ("Author", _refs(resource.get("author"))),
            ("Held by", _ref(resource.get("custodian"))),
            ("Specialty", _text((resource.get("context") or {}).get("practiceSetting"))),
        ]
    else:
        rows = [("Type", kind), ("Status", str(resource.get("status", "")))]
    return [(label, value) for label, value in rows if value]
