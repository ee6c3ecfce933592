"""The subject-access pack: everything the record holds about a person and where each item came from, as
a readable PDF and as a FHIR R4 Bundle (for moving to another organisation), with everyone who looked at
the record. For the privacy officer; producing a pack is itself written to the access trail."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AccessEvent
from audit.selectors import access_event_list_for_person
from consent.models import LegalProxy, SubjectAccessRequest
from records import nhs_numbers
from records.models import Entry, EntryCategory, LocalIdentifier, Person, SourceSystem, User

PACK_NAMESPACE = uuid.UUID("8d6f3f0e-6c1d-4f7e-9a55-2f1f5a0c7d11")

ACCESS_LIST_COLUMNS = ["When", "Who", "Role", "Organisation", "What", "Outcome", "Basis"]


@dataclass(frozen=True)
class Viewer:
    when: datetime
    who: str
    role: str
    organisation: str
    what: str
    outcome: str
    basis: str

    def row(self) -> list[str]:
        return [
            timezone.localtime(self.when).strftime("%d/%m/%Y %H:%M"),
            self.who,
            self.role,
            self.organisation,
            self.what,
            self.outcome,
            self.basis,
        ]


@dataclass
class SubjectAccessPack:
    reference: str
    nhs_number: str
    person: Person | None
    entries: list[Entry]
    viewers: list[Viewer]
    pdf: bytes
    bundle: dict[str, Any]

    @property
    def access_list_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(ACCESS_LIST_COLUMNS)
        writer.writerows(viewer.row() for viewer in self.viewers)
        return out.getvalue()

    def zip(self) -> bytes:
        import json

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{self.reference}-record.pdf", self.pdf)
            archive.writestr(f"{self.reference}-record.fhir.json", json.dumps(self.bundle, indent=2))
            archive.writestr(f"{self.reference}-who-viewed.csv", self.access_list_csv)
        return out.getvalue()


def _viewers(person: Person | None, nhs_number: str) -> list[Viewer]:
    """Everyone who looked at or was refused the record, oldest first."""
    return _viewers_from(
        list(access_event_list_for_person(person=person, nhs_number=nhs_number).order_by("seq"))
    )


def _sources(person: Person | None, entries: list[Entry]) -> dict[int, SourceSystem]:
    ids = {e.source_system_id for e in entries}
    if person is not None:
        ids |= {
            p["source"] for p in person.field_provenance.values() if isinstance(p, dict) and "source" in p
        }
        ids |= {a.source_system_id for a in person.addresses.all() if a.source_system_id}
        ids |= {i.source_system_id for i in person.local_identifiers.all() if i.source_system_id}
    return {s.pk: s for s in SourceSystem.objects.filter(pk__in=ids).select_related("organisation")}


def _source_name(sources: dict[int, SourceSystem], source_id: int | None) -> str:
    source = sources.get(source_id) if source_id else None
    return f"{source.organisation.name}: {source.name}" if source else "Entered in the shared care record"


# ---- FHIR ----


def _urn(kind: str, key: Any) -> str:
    return f"urn:uuid:{uuid.uuid5(PACK_NAMESPACE, f'{kind}/{key}')}"


def _patient(person: Person) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": f"person-{person.pk}"}
    if person.nhs_number:
        resource["identifier"] = [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": person.nhs_number}]
    name: dict[str, Any] = {"use": "official"}
    if person.family_name:
        name["family"] = person.family_name
    if person.given_names:
        name["given"] = person.given_names.split()
    if person.title:
        name["prefix"] = [person.title]
    if len(name) > 1:
        resource["name"] = [name]
    resource["gender"] = person.gender
    if person.date_of_birth:
        resource["birthDate"] = person.date_of_birth.isoformat()
    if person.date_of_death:
        resource["deceasedDateTime"] = person.date_of_death.isoformat()
    telecom = [
        {"system": system, "value": value, "use": use}
        for system, value, use in (
            ("phone", person.phone_home, "home"),
            ("phone", person.phone_mobile, "mobile"),
            ("email", person.email, "home"),
        )
        if value
    ]
    if telecom:
        resource["telecom"] = telecom
    addresses = []
    for address in person.addresses.all():
        item: dict[str, Any] = {"use": address.use if address.use != "billing" else "billing"}
        lines = [line for line in address.lines.splitlines() if line.strip()]
        if lines:
            item["line"] = lines
        for key, value in (
            ("city", address.town),
            ("district", address.county),
            ("postalCode", address.postcode),
        ):
            if value:
                item[key] = value
        period = {}
        if address.period_start:
            period["start"] = address.period_start.isoformat()
        if address.period_end:
            period["end"] = address.period_end.isoformat()
        if period:
            item["period"] = period
        addresses.append(item)
    if addresses:
        resource["address"] = addresses
    if person.registered_practice_id:
        practice = person.registered_practice
        resource["generalPractitioner"] = [
            {
                "identifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": practice.ods_code,
                },
                "display": practice.name,
            }
        ]
    return resource


def _provenance(source: SourceSystem, targets: list[str], recorded: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "target": [{"reference": target} for target in targets],
        "recorded": recorded.isoformat(),
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": {
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": source.organisation.ods_code,
                    },
                    "display": f"{source.organisation.name}: {source.name}",
                },
            }
        ],
    }


def _bundle(
    person: Person | None, entries: list[Entry], sources, events: list[AccessEvent]
) -> dict[str, Any]:
    from audit.exports import access_event_as_fhir

    now = timezone.now()
    items: list[dict[str, Any]] = []
    by_source: dict[int, list[str]] = defaultdict(list)
    if person is not None:
        patient_url = _urn("Patient", person.pk)
        items.append({"fullUrl": patient_url, "resource": _patient(person)})
        for field_provenance in person.field_provenance.values():
            source_id = field_provenance.get("source") if isinstance(field_provenance, dict) else None
            if source_id in sources and patient_url not in by_source[source_id]:
                by_source[source_id].append(patient_url)
    for entry in entries:
        url = _urn("Entry", entry.pk)
        items.append({"fullUrl": url, "resource": entry.resource})
        by_source[entry.source_system_id].append(url)
    for source_id, targets in sorted(by_source.items()):
        items.append(
            {
                "fullUrl": _urn("Provenance", source_id),
                "resource": _provenance(sources[source_id], targets, now),
            }
        )
    for event in events:
        resource = access_event_as_fhir(event)
        for agent in resource["agent"]:
            agent.pop("network", None)  # staff devices, not the person's data
        items.append({"fullUrl": _urn("AuditEvent", event.pk), "resource": resource})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": now.isoformat()},
        "type": "collection",
        "timestamp": now.isoformat(),
        "total": len(items),
        "entry": items,
    }


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Raise pydantic's ValidationError unless the Bundle and every resource in it is valid FHIR (R4B
    models, as records/fhir.py explains)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)


# ---- PDF ----

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian fonts-dejavu-core
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


def _fonts() -> tuple[str, str]:
    """A font that prints names with diacritics (Łukasz, Ștefan, Zoë). DejaVu Sans if the system has it,
    else ReportLab's bundled Vera (Latin-1 only), else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    configured = getattr(settings, "DCR_PDF_FONT", "")
    for path in (configured, *_FONT_CANDIDATES):
        if path and Path(path).exists():
            bold = Path(path).with_name(Path(path).stem + "-Bold.ttf")
            if "DcrSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("DcrSans", path))
                pdfmetrics.registerFont(TTFont("DcrSans-Bold", bold if bold.exists() else path))
            return "DcrSans", "DcrSans-Bold"
    try:
        if "Vera" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
            pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
        return "Vera", "VeraBd"
    except Exception:  # any font problem: a standard font still prints the pack
        return "Helvetica", "Helvetica-Bold"


RIGHTS_TEXT = [
    "Why we hold it: so that the professionals directly involved in your care can see information from "
    "your GP, hospitals, community and mental health services, social care and the ambulance service "
    "(direct care).",
    "Who can see it: only staff of partner organisations with a care relationship with you, or in an "
    "emergency, and every look is recorded (listed at the end of this pack).",
    "Where it comes from: each item below names the organisation and system that sent it. That "
    "organisation is the owner of the item; the shared care record keeps a read-only copy.",
    "How long: for as long as the sources keep sending it, unless you opt out; an opt-out removes it.",
    "Your rights: to have inaccurate information corrected (ask us or the organisation that recorded it), "
    "to object and opt out of the shared care record, and to complain to the Information Commissioner's "
    "Office (ico.org.uk, 0303 123 1113). No decisions about you are made automatically, and the "
    "information is not sent outside the UK.",
]


def _pdf(
    *,
    reference: str,
    nhs_number: str,
    person: Person | None,
    entries: list[Entry],
    sources,
    viewers: list[Viewer],
    proxies: list[LegalProxy],
) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    regular, bold = _fonts()
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=regular, fontSize=9.5, leading=12)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    h1 = ParagraphStyle("h1", parent=base["Heading1"], fontName=bold, fontSize=16)
    h2 = ParagraphStyle("h2", parent=base["Heading2"], fontName=bold, fontSize=12, spaceBefore=10)
    h3 = ParagraphStyle("h3", parent=base["Heading3"], fontName=bold, fontSize=10, spaceBefore=6)

    def p(text: Any, style=small) -> Paragraph:
        return Paragraph(escape(str(text or "")), style)

    def cell(value: Any, width: float) -> Any:
        # A paragraph wraps, but laying one out costs a thousand times a plain string: records run to
        # thousands of cells, so only text too long for its column is wrapped.
        text = str(value or "")
        return text if len(text) * 1.75 < width - 2 else p(text)

    def table(header: list[str], rows: list[list[Any]], widths: list[float]) -> LongTable:
        data = [[Paragraph(f"<b>{escape(h)}</b>", small) for h in header]] + [
            [cell(c, w) for c, w in zip(row, widths, strict=True)] for row in rows
        ]
        t = LongTable(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("FONT", (0, 1), (-1, -1), regular, 8, 10),
                ]
            )
        )
        return t

    story: list[Any] = [
        Paragraph("Shared Care Record: the information we hold about you", h1),
        p(
            f"Subject access reference {reference}. NHS number {nhs_numbers.formatted(nhs_number)}. "
            f"Produced {timezone.localtime():%d %B %Y at %H:%M}.",
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph("About this information", h2),
        *[p(text, body) for text in RIGHTS_TEXT],
    ]
    if person is None:
        story += [
            Paragraph("Your record", h2),
            p("The shared care record holds no demographics or entries for this NHS number.", body),
        ]
    else:
        story.append(Paragraph("Your details", h2))
        provenance = person.field_provenance
        rows = []
        for label, name, value in (
            ("NHS number", "nhs_number", person.nhs_number_display),
            ("Title", "title", person.title),
            ("Given names", "given_names", person.given_names),
            ("Family name", "family_name", person.family_name),
            ("Preferred name", "preferred_name", person.preferred_name),
            (
                "Date of birth",
                "date_of_birth",
                person.date_of_birth and person.date_of_birth.strftime("%d/%m/%Y"),
            ),
            ("Gender", "gender", person.get_gender_display()),
            (
                "Date of death",
                "date_of_death",
                person.date_of_death and person.date_of_death.strftime("%d/%m/%Y"),
            ),
            ("Home phone", "phone_home", person.phone_home),
            ("Mobile phone", "phone_mobile", person.phone_mobile),
            ("Email", "email", person.email),
            ("Registered GP practice", "registered_practice_id", person.registered_practice),
            ("Registered GP", "registered_gp_name", person.registered_gp_name),
        ):
            if not value:
                continue
            held = provenance.get(name) or {}
            rows.append([label, value, _source_name(sources, held.get("source"))])
        story.append(table(["Item", "Value", "Came from"], rows, [40, 70, 70]))
        addresses = list(person.addresses.all())
        if addresses:
            story.append(Paragraph("Addresses", h3))
            story.append(
                table(
                    ["Address", "From", "To", "Came from"],
                    [
                        [
                            str(a),
                            a.period_start and a.period_start.strftime("%d/%m/%Y"),
                            a.period_end and a.period_end.strftime("%d/%m/%Y"),
                            _source_name(sources, a.source_system_id),
                        ]
                        for a in addresses
                    ],
                    [80, 22, 22, 56],
                )
            )
        identifiers: list[LocalIdentifier] = list(person.local_identifiers.all())
        if identifiers:
            story.append(Paragraph("Numbers other organisations know you by", h3))
            story.append(
                table(
                    ["Number", "Issued by", "Came from"],
                    [[i.value, i.system, _source_name(sources, i.source_system_id)] for i in identifiers],
                    [40, 70, 70],
                )
            )
        if proxies:
            story.append(Paragraph("People with legal authority to act for you", h3))
            story.append(
                table(
                    ["Name", "Authority", "From", "Until", "Evidence seen"],
                    [
                        [
                            x.name,
                            x.get_authority_display(),
                            x.valid_from.strftime("%d/%m/%Y"),
                            x.valid_until.strftime("%d/%m/%Y") if x.valid_until else "",
                            x.evidence_seen,
                        ]
                        for x in proxies
                    ],
                    [35, 45, 20, 20, 60],
                )
            )
        story.append(Paragraph("Your record", h2))
        if not entries:
            story.append(p("No entries.", body))
        by_category: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            by_category[entry.category].append(entry)
        for category in EntryCategory:
            items = by_category.get(category.value)
            if not items:
                continue
            story.append(Paragraph(f"{escape(category.label)} ({len(items)})", h3))
            story.append(
                table(
                    ["Date", "What", "Status", "Came from"],
                    [
                        [
                            timezone.localtime(e.occurred_at).strftime("%d/%m/%Y") if e.occurred_at else "",
                            e.summary or e.code_display or e.resource_type,
                            e.status,
                            f"{_source_name(sources, e.source_system_id)}"
                            + (f" ({e.provenance.get('channel')})" if e.provenance.get("channel") else ""),
                        ]
                        for e in items
                    ],
                    [20, 85, 20, 55],
                )
            )
    story.append(Paragraph("Who has looked at your record", h2))
    if viewers:
        story.append(table(ACCESS_LIST_COLUMNS, [v.row() for v in viewers], [22, 30, 24, 36, 26, 16, 26]))
    else:
        story.append(p("No one has looked at your record.", body))

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Subject access {reference}",
        author="Shared Care Record",
    )
    doc.build(story)
    return out.getvalue()


def _officer_actor(user: User, client_ip: str | None):
    from records.access import Actor
    from records.models import Membership

    membership = (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organisation", "role")
        .order_by("-role__job_role_code")
        .first()
    )
    return Actor(user=user, membership=membership, client_ip=client_ip)  # type: ignore[arg-type]


@transaction.atomic
def subject_access_pack_produce(
    *, request: SubjectAccessRequest, produced_by: User, client_ip: str | None = None
) -> SubjectAccessPack:
    """Build the pack for the request's NHS number and write the production to the access trail first
    (fail closed, like every other look at the record)."""
    from audit.services import access_event_record

    nhs_number = request.nhs_number
    person = (
        Person.objects.filter(nhs_number=nhs_number)
        .select_related("registered_practice")
        .prefetch_related("addresses", "local_identifiers")
        .first()
    )
    entries = (
        list(Entry.objects.filter(person=person).order_by("category", "occurred_at", "pk")) if person else []
    )
    events_before = list(access_event_list_for_person(person=person, nhs_number=nhs_number).order_by("seq"))
    event = access_event_record(
        actor=_officer_actor(produced_by, client_ip),
        action=AccessEvent.Action.EXPORT,
        person=person,
        basis="subject_access",
        basis_detail=f"Subject access request {request.reference}",
        detail={"page": "subject_access_pack", "reference": request.reference, "entries": len(entries)},
    )
    # The pack lists its own production too: it is a look at the record like any other.
    events = [*events_before, event]
    viewers = _viewers_from(events)
    sources = _sources(person, entries)
    proxies = list(LegalProxy.objects.filter(person=person)) if person else []
    pack = SubjectAccessPack(
        reference=request.reference,
        nhs_number=nhs_number,
        person=person,
        entries=entries,
        viewers=viewers,
        pdf=_pdf(
            reference=request.reference,
            nhs_number=nhs_number,
            person=person,
            entries=entries,
            sources=sources,
            viewers=viewers,
            proxies=proxies,
        ),
        bundle=_bundle(person, entries, sources, events),
    )
    SubjectAccessRequest.objects.filter(pk=request.pk).update(
        status=SubjectAccessRequest.Status.PRODUCED, produced_at=timezone.now(), produced_by=produced_by
    )
    return pack


def _viewers_from(events: list[AccessEvent]) -> list[Viewer]:
    # Client addresses and sessions stay in the trail: they identify staff devices, not the person.
    return [
        Viewer(
            when=e.occurred_at,
            who=e.user_display.split(" <")[0],
            role=e.role_name,
            organisation=f"{e.organisation_name} ({e.organisation_ods})" if e.organisation_ods else "",
            what=e.get_action_display() + (f": {e.detail.get('page')}" if e.detail.get("page") else ""),
            outcome=e.get_outcome_display(),
            basis=(e.basis.replace("_", " ") + (f" - {e.basis_detail}" if e.basis_detail else "")).strip(),
        )
        for e in events
    ]
