"""Contacts with services: GP consultations, emergency attendances, admissions, referrals and clinics,
ambulance calls, community nursing and mental health contacts, with the appointments and letters they leave.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from records.demo import codes
from records.demo.codes import CONDITION_BY_KEY, MEDICINES, SNOMED, SPECIALTIES
from records.demo.history import letters, results
from records.demo.history.clinical import problem_add
from records.demo.history.context import Ctx, at, fmt_date
from records.demo.names import first_name, surname
from records.demo.organisations import OrganisationSpec, organisation_by_code
from records.models import EntryCategory

CLASSES = {
    "AMB": codes.coding(codes.ACT_CODE, "AMB", "ambulatory"),
    "EMER": codes.coding(codes.ACT_CODE, "EMER", "emergency"),
    "IMP": codes.coding(codes.ACT_CODE, "IMP", "inpatient encounter"),
    "HH": codes.coding(codes.ACT_CODE, "HH", "home health"),
    "VR": codes.coding(codes.ACT_CODE, "VR", "virtual"),
    "FLD": codes.coding(codes.ACT_CODE, "FLD", "field"),
}
_APPOINTMENT_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0276"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_ATTENDER = [{"coding": [codes.coding(_PARTICIPATION, "ATND", "attender")]}]
_HOME = {
    "coding": [{"system": codes.DISCHARGE_DESTINATION, "code": "19"}],
    "text": "Usual place of residence",
}
DESTINATIONS = {
    "19": "Usual place of residence",
    "85": "Non-NHS run care home",
    "79": "Not applicable - patient died",
}

GP_SYMPTOMS = (
    "Cough",
    "Sore throat",
    "Back pain",
    "Rash",
    "Earache",
    "Abdominal pain",
    "Headache",
    "Dizziness",
    "Knee pain",
    "Tiredness",
    "Chest pain",
    "Breathlessness",
    "Low mood",
    "Fever",
    "Joint pain",
    "Insomnia",
)
CHILD_SYMPTOMS = ("Fever", "Earache", "Cough", "Rash", "Sore throat", "Abdominal pain", "Eczema", "Wheeze")


@dataclass(frozen=True)
class Admission:
    diagnosis: str
    condition: str  # key of CONDITIONS or "pneumonia"/"uti"; "" if the diagnosis is not coded
    specialty: str
    ward: str
    treatment: str
    medicines: tuple[str, ...]
    follow_up: str
    stay_days: tuple[int, int]
    imaging: str = ""
    infection: bool = False


ADMISSIONS = {
    "pneumonia": Admission(
        "Community-acquired pneumonia",
        "pneumonia",
        "300",
        "Acute Medical Unit",
        "Presented with three days of productive cough, fever and breathlessness. Treated with intravenous "
        "antibiotics, then oral; oxygen weaned by day two. CRP fell steadily.",
        ("amoxicillin500",),
        "Please arrange a repeat chest X-ray in six weeks to confirm resolution.",
        (3, 9),
        "pneumonia",
        True,
    ),
    "uti": Admission(
        "Urinary tract infection with delirium",
        "uti",
        "430",
        "Frailty Unit",
        "Admitted confused with a urinary tract infection. Intravenous antibiotics for 48 hours, then oral. "
        "Confusion settled as the infection resolved.",
        (),
        "Please check renal function in two weeks.",
        (2, 8),
        "",
        True,
    ),
    "wrist-fracture": Admission(
        "Fracture of the distal radius after a fall",
        "",
        "110",
        "Orthopaedic Ward",
        "Manipulation under anaesthetic and a plaster cast. Seen by physiotherapy before discharge.",
        ("cocodamol30_500",),
        "Fracture clinic in one week. Falls assessment by the community team, please.",
        (1, 3),
        "wrist-fracture",
    ),
    "heart-failure": Admission(
        "Decompensated heart failure",
        "heart_failure",
        "320",
        "Cardiology Ward",
        "Intravenous diuretics with a good response; weight fell by 4 kg. Echocardiogram showed moderately "
        "reduced left ventricular function.",
        ("bisoprolol2_5",),
        "Heart failure nurse review in two weeks; please check U&E in one week.",
        (4, 12),
        "heart-failure",
    ),
    "af": Admission(
        "Atrial fibrillation with fast ventricular response",
        "af",
        "320",
        "Cardiology Ward",
        "Rate controlled with bisoprolol. Echocardiogram showed preserved left ventricular function.",
        ("bisoprolol5",),
        "Cardiology clinic in three months.",
        (1, 4),
    ),
    "copd": Admission(
        "Infective exacerbation of COPD",
        "copd",
        "340",
        "Respiratory Ward",
        "Nebulised bronchodilators, oral prednisolone for five days and antibiotics. Back to baseline "
        "breathlessness on discharge.",
        ("doxycycline100",),
        "Referred to pulmonary rehabilitation.",
        (2, 7),
        "copd",
        True,
    ),
    "stroke": Admission(
        "Ischaemic stroke",
        "stroke",
        "430",
        "Stroke Unit",
        "CT head showed an acute ischaemic infarct; outside the thrombolysis window. Swallow assessed by "
        "speech and language therapy; started on clopidogrel. Left arm weakness improving.",
        ("clopidogrel75",),
        "Stroke clinic in six weeks. Community stroke rehabilitation arranged.",
        (5, 21),
    ),
    "mi": Admission(
        "Acute myocardial infarction (NSTEMI)",
        "mi",
        "320",
        "Cardiac Care Unit",
        "Troponin rise. Coronary angiography showed a single-vessel stenosis, treated with a stent. Started "
        "on aspirin and clopidogrel.",
        ("aspirin75disp", "clopidogrel75"),
        "Cardiac rehabilitation referral made; cardiology clinic in six weeks.",
        (2, 6),
        "normal-chest",
    ),
    "collapse": Admission(
        "Collapse with dehydration",
        "",
        "430",
        "Frailty Unit",
        "Intravenous fluids. Lying and standing blood pressures normal on recovery; ECG normal.",
        (),
        "Please review the need for diuretics.",
        (1, 5),
    ),
    "abdominal-pain": Admission(
        "Non-specific abdominal pain",
        "",
        "100",
        "Surgical Assessment Unit",
        "CT abdomen showed no acute cause. Pain settled with simple analgesia.",
        ("paracetamol500",),
        "No routine follow-up; please review if the pain recurs.",
        (1, 3),
    ),
    "hip-replacement": Admission(
        "Elective total hip replacement for osteoarthritis",
        "",
        "110",
        "Orthopaedic Ward",
        "Uncomplicated total hip replacement. Mobilising with a frame on day one and with sticks by "
        "discharge.",
        ("cocodamol30_500",),
        "Wound check by the practice nurse at ten to fourteen days; orthopaedic clinic in six weeks.",
        (2, 5),
    ),
    "hernia-repair": Admission(
        "Elective inguinal hernia repair",
        "",
        "100",
        "Day Surgery Unit",
        "Open mesh repair under general anaesthetic; went home the same day.",
        ("paracetamol500",),
        "No routine follow-up.",
        (0, 0),
    ),
}
RESOLVED_PROBLEMS = {"pneumonia": codes.PNEUMONIA, "uti": codes.UTI}
ELECTIVE = ("hip-replacement", "hernia-repair")


@dataclass(frozen=True)
class Complaint:
    text: str
    min_age: int
    weight: float
    admit: float  # chance of admission, before the age uplift
    admissions: tuple[str, ...]
    imaging: str = ""  # when not admitted


COMPLAINTS = (
    Complaint("Fall", 0, 3, 0.2, ("wrist-fracture", "collapse"), "wrist-normal"),
    Complaint("Shortness of breath", 16, 2, 0.4, ("heart-failure", "copd", "pneumonia"), "normal-chest"),
    Complaint("Chest pain", 16, 2, 0.2, ("mi",), "normal-chest"),
    Complaint("Confusion", 65, 1.5, 0.6, ("uti",)),
    Complaint("Palpitations", 30, 1, 0.3, ("af",)),
    Complaint("Abdominal pain", 5, 2, 0.2, ("abdominal-pain",)),
    Complaint("Weakness of one side of the body", 55, 0.6, 1.0, ("stroke",)),
    Complaint("Cough and fever", 0, 1.5, 0.25, ("pneumonia",)),
    Complaint("Head injury", 0, 1.5, 0.0, ()),
    Complaint("Laceration to hand", 5, 1.5, 0.0, ()),
    Complaint("Ankle injury", 5, 1.5, 0.0, ()),
    Complaint("Allergic reaction", 0, 0.6, 0.0, ()),
)
ADMISSION_CONDITION = {"heart-failure": "heart_failure", "copd": "copd", "af": "af"}


def _specialty(code: str) -> dict:
    return codes.concept(codes.SPECIALTY, code, SPECIALTIES[code])


def encounter_add(
    ctx: Ctx,
    source: str,
    *,
    cls: str,
    kind: tuple[str, str] | str,
    start: datetime,
    end: datetime | None,
    reason: dict | None,
    provider: OrganisationSpec,
    summary: str,
    subtype: str,
    participant: dict | None = None,
    specialty: str = "",
    extra: dict | None = None,
) -> str:
    """An Encounter; returns its key (the visit number) for letters to point at."""
    key = ctx.key("E")
    status = "finished" if end else "in-progress"
    kind_concept = codes.concept(SNOMED, *kind) if isinstance(kind, tuple) else {"text": kind}
    resource = {
        "resourceType": "Encounter",
        "identifier": ctx.identifier(source, key),
        "status": status,
        "class": CLASSES[cls],
        "type": [kind_concept],
        "subject": ctx.subject,
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
        "serviceProvider": ctx.org(provider),
    }
    if participant:
        resource["participant"] = [{"type": _ATTENDER, "individual": participant}]
    if reason:
        resource["reasonCode"] = [reason]
    if specialty:
        resource["serviceType"] = _specialty(specialty)
    if extra:
        resource.update(extra)
    code = (SNOMED, *kind) if isinstance(kind, tuple) else (codes.ACT_CODE, cls, CLASSES[cls]["display"])
    ctx.add(
        source,
        EntryCategory.ENCOUNTER,
        resource,
        key=key,
        summary=summary,
        occurred_at=start,
        ended_at=end,
        subtype=subtype,
        code=code,
        status=status,
    )
    return key


def appointment_add(
    ctx: Ctx,
    source: str,
    *,
    start: datetime,
    minutes: int,
    status: str,
    description: str,
    specialty: str,
    booked: datetime,
    subtype: str,
    practitioner: dict | None = None,
    location: str = "",
    follow_up: bool = False,
    channel: str = "In-person",
) -> None:
    end = start + timedelta(minutes=minutes)
    participants: list[dict] = [
        {"actor": {"type": "Patient", **ctx.subject}, "required": "required", "status": "accepted"}
    ]
    if practitioner:
        participants.append(
            {"type": _ATTENDER, "actor": practitioner, "required": "required", "status": "accepted"}
        )
    if location:
        participants.append({"actor": {"display": location}, "required": "required", "status": "accepted"})
    appointment_type = (
        ("FOLLOWUP", "A follow up visit from a previous appointment")
        if follow_up
        else (
            "ROUTINE",
            "Routine appointment - default if not valued",
        )
    )
    resource = {
        "resourceType": "Appointment",
        "extension": [
            {
                "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeliveryChannel",
                "valueCodeableConcept": {"coding": [{"system": codes.DELIVERY_CHANNEL, "code": channel}]},
            }
        ],
        "identifier": ctx.identifier(source, ctx.key("A")),
        "status": status,
        "specialty": [_specialty(specialty)],
        "appointmentType": {"coding": [codes.coding(_APPOINTMENT_TYPE, *appointment_type)]},
        "description": description,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": minutes,
        "created": booked.isoformat(),
        "participant": participants,
    }
    when = f"{fmt_date(start.date())} {start:%H:%M}"
    if status == "fulfilled":
        summary, updated = f"{description}, {when}: attended", end + timedelta(minutes=10)
    elif status == "booked":
        summary, updated = f"{description}: booked for {when}", booked
    elif status == "cancelled":
        resource["cancelationReason"] = {
            "text": "Cancelled by the service" if ctx.chance(0.5) else "Cancelled by the patient"
        }
        summary = f"{description}, {when}: cancelled ({resource['cancelationReason']['text'].lower()})"
        updated = start - timedelta(days=ctx.rng.randint(1, 10))
    else:
        summary, updated = f"{description}, {when}: did not attend", end + timedelta(hours=2)
    ctx.add(
        source,
        EntryCategory.APPOINTMENT,
        resource,
        key=resource["identifier"][0]["value"],
        summary=summary,
        occurred_at=start,
        ended_at=end if status == "fulfilled" else None,
        updated_at=min(max(updated, booked), ctx.cutoff),
        subtype=subtype,
        code=(codes.SPECIALTY, specialty, SPECIALTIES[specialty]),
        status=status,
    )


# --- primary care ---


def gp_care_add(ctx: Ctx) -> None:
    person, rng = ctx.person, ctx.rng
    practice, gp_source, gp = person.practice, ctx.sources.gp, ctx.clinician(person.gp)
    age = ctx.age
    rate = 2.0 if age < 16 else 1.6 if age < 45 else 2.2 if age < 65 else 3.5 if age < 80 else 5.0
    rate += 0.4 * len(ctx.conditions)
    years = max(0.0, (ctx.last_day - ctx.start).days / 365.25)
    conditions = list(ctx.conditions)
    for _ in range(ctx.count(rate * years, 14)):
        day = ctx.past_day()
        start = ctx.clinic_time(day)
        roll = rng.random()
        home_share = 0.2 if age >= 80 else 0.02
        if conditions and rng.random() < 0.45:
            condition = CONDITION_BY_KEY[rng.choice(conditions)]
            reason = codes.concept(SNOMED, condition.code, condition.display)
            reason_text = f"{condition.display} review"
            reason["text"] = reason_text
            kind = codes.ENCOUNTER_FOR_PROBLEM
        else:
            reason_text = rng.choice(CHILD_SYMPTOMS if age < 16 else GP_SYMPTOMS)
            reason = {"text": reason_text}
            kind = codes.ENCOUNTER_FOR_SYMPTOM if rng.random() < 0.85 else codes.ENCOUNTER_FOR_CHECK_UP
        if roll < home_share:
            cls, kind, minutes, words, subtype = (
                "HH",
                codes.HOME_VISIT,
                rng.randint(20, 40),
                "GP home visit",
                "gp-home-visit",
            )
        elif roll < home_share + 0.35:
            cls, kind, minutes, words, subtype = (
                "VR",
                codes.TELEPHONE_ENCOUNTER,
                rng.randint(5, 15),
                "GP telephone consultation",
                "gp-telephone",
            )
        else:
            cls, minutes, words, subtype = (
                "AMB",
                rng.choice((10, 10, 15, 20)),
                "GP consultation",
                "gp-consultation",
            )
        end = start + timedelta(minutes=minutes)
        encounter_add(
            ctx,
            gp_source,
            cls=cls,
            kind=kind,
            start=start,
            end=end,
            reason=reason,
            provider=practice,
            participant=gp,
            summary=f"{words}: {reason_text} ({person.gp.name})",
            subtype=subtype,
        )
        if cls == "AMB" and rng.random() < 0.35:
            appointment_add(
                ctx,
                gp_source,
                start=start,
                minutes=minutes,
                status="fulfilled",
                description=f"GP appointment with {person.gp.name}",
                specialty="600",
                booked=start - timedelta(days=rng.randint(0, 14), hours=rng.randint(1, 9)),
                subtype="gp",
                practitioner=gp,
                location=practice.name,
            )
    for _ in range(ctx.count(0.3 * years, 4)):
        start = ctx.clinic_time(ctx.past_day())
        appointment_add(
            ctx,
            gp_source,
            start=start,
            minutes=10,
            status="noshow" if rng.random() < 0.5 else "cancelled",
            description=f"GP appointment with {person.gp.name}",
            specialty="600",
            booked=start - timedelta(days=rng.randint(1, 20)),
            subtype="gp",
            practitioner=gp,
            location=practice.name,
        )
    if ctx.alive and ctx.chance(0.25 if age < 65 else 0.45):
        day = ctx.day_between(person.as_of + timedelta(days=1), person.as_of + timedelta(days=28))
        start = ctx.clinic_time(day)
        telephone = rng.random() < 0.3
        appointment_add(
            ctx,
            gp_source,
            start=start,
            minutes=10 if telephone else 15,
            status="booked",
            description=f"GP {'telephone ' if telephone else ''}appointment with {person.gp.name}",
            specialty="600",
            booked=ctx.cutoff - timedelta(days=rng.randint(0, 10), hours=rng.randint(1, 8)),
            subtype="gp",
            practitioner=gp,
            location=practice.name,
            channel="Telephone" if telephone else "In-person",
        )


# --- hospital ---


def _choose_complaint(ctx: Ctx) -> Complaint:
    options = [c for c in COMPLAINTS if ctx.age >= c.min_age]
    weights = [c.weight * (2.5 if c.text == "Fall" and ctx.age >= 75 else 1) for c in options]
    return ctx.rng.choices(options, weights=weights)[0]


def _admission_for(ctx: Ctx, complaint: Complaint) -> str:
    """An admission tied to a condition the person has wins; otherwise any of the others."""
    for key in complaint.admissions:
        if ADMISSION_CONDITION.get(key) in ctx.conditions:
            return key
    others = [key for key in complaint.admissions if key not in ADMISSION_CONDITION]
    return ctx.rng.choice(others or complaint.admissions)


def _paramedic(ctx: Ctx) -> dict:
    rng = ctx.rng
    return {
        "identifier": {
            "system": "https://fhir.hl7.org.uk/Id/hcpc-number",
            "value": f"PA{rng.randrange(10000, 99999)}",
        },
        "display": f"Paramedic {first_name(rng, rng.random() < 0.5)} {surname(rng)}",
    }


def ambulance_add(ctx: Ctx, *, start: datetime, complaint: str, outcome: str) -> datetime:
    """An ambulance incident; returns when the crew handed over or left."""
    end = start + timedelta(minutes=ctx.rng.randint(40, 110))
    service = organisation_by_code()["RYF"]
    encounter_add(
        ctx,
        ctx.sources.ambulance,
        cls="FLD",
        kind="Emergency ambulance response",
        start=start,
        end=end,
        reason={"text": complaint},
        provider=service,
        participant=_paramedic(ctx),
        summary=f"Ambulance: {complaint.lower()}; {outcome[0].lower()}{outcome[1:]}",
        subtype="ambulance",
        extra={"hospitalization": {"dischargeDisposition": {"text": outcome}}},
    )
    return end


def emergency_care_add(ctx: Ctx) -> None:
    age, rng = ctx.age, ctx.rng
    rate = 0.35 if age < 5 else 0.2 if age < 65 else 0.35 if age < 80 else 0.7
    if not ctx.alive:
        rate *= 2
    years = max(0.0, (ctx.last_day - ctx.start).days / 365.25)
    hospital = ctx.hospital
    for _ in range(ctx.count(rate * years, 8)):
        day = ctx.past_day(weekday=False)
        arrival = ctx.any_time(day)
        complaint = _choose_complaint(ctx)
        admit = complaint.admissions and rng.random() < min(
            1.0, complaint.admit * (1.6 if age >= 80 else 1.3 if age >= 65 else 1)
        )
        if rng.random() < (0.55 if age >= 65 else 0.2):
            arrival = ambulance_add(
                ctx,
                start=arrival - timedelta(minutes=rng.randint(60, 120)),
                complaint=complaint.text,
                outcome=f"Conveyed to {hospital.name} emergency department",
            )
        leaves = arrival + timedelta(minutes=rng.randint(90, 420))
        if leaves.date() > ctx.last_day:
            leaves = at(ctx.last_day, 23, 30)
        clinician = ctx.consultant()
        outcome = (
            "Admitted to a ward"
            if admit
            else rng.choice(
                ("Discharged home", "Discharged home with GP follow-up", "Discharged home; fracture clinic")
                if complaint.text in ("Fall", "Ankle injury")
                else ("Discharged home", "Discharged home with GP follow-up")
            )
        )
        extra: dict = {}
        if admit:
            extra["hospitalization"] = {"dischargeDisposition": {"text": "Admitted"}}
        else:
            extra["hospitalization"] = {"dischargeDisposition": _HOME}
            extra["extension"] = [
                {
                    "url": codes.DISCHARGE_STATUS_EXTENSION,
                    "valueCodeableConcept": codes.concept(SNOMED, *codes.TREATMENT_COMPLETED),
                }
            ]
        key = encounter_add(
            ctx,
            ctx.sources.pas,
            cls="EMER",
            kind=codes.EMERGENCY_ROOM_ADMISSION,
            start=arrival,
            end=leaves,
            reason={"text": complaint.text},
            provider=hospital,
            participant=ctx.clinician(clinician),
            summary=f"Emergency department: {complaint.text.lower()}, {outcome.lower()}",
            subtype="emergency",
            specialty="180",
            extra=extra,
        )
        requester = ctx.clinician(clinician)
        bloods_at = arrival + timedelta(minutes=rng.randint(20, 60))
        reason_key = _admission_for(ctx, complaint) if admit else ""
        if admit or rng.random() < 0.25:
            infection = complaint.text in ("Cough and fever", "Confusion") or (
                admit and ADMISSIONS[reason_key].infection
            )
            for panel in ("fbc", "ue", "crp"):
                results.lab_report_add(ctx, panel, bloods_at, requester=requester, acute=infection)
        if admit:
            admission_add(ctx, reason_key, leaves, emergency=True, imaging_at=bloods_at)
        else:
            if complaint.imaging and rng.random() < 0.5:
                results.imaging_report_add(ctx, complaint.imaging, bloods_at, requester=requester)
            if rng.random() < 0.3:
                letter = letters.emergency_letter(
                    ctx,
                    hospital,
                    seen=arrival,
                    complaint=complaint.text,
                    outcome=outcome,
                    clinician=clinician.name,
                )
                letters.document_add(
                    ctx,
                    ctx.sources.docs,
                    letter,
                    written=leaves + timedelta(hours=rng.randint(1, 30)),
                    author=requester,
                    organisation=hospital,
                    encounter_key=key,
                    specialty="180",
                    subtype="ed-letter",
                )
    elective_rate = 0.03 if age < 65 else 0.06
    if age >= 30:
        for _ in range(ctx.count(elective_rate * years, 2)):
            reason = rng.choice(ELECTIVE)
            admitted = at(ctx.past_day(), 7, 30)
            admission_add(ctx, reason, admitted, emergency=False, imaging_at=admitted)
    if ctx.alive and age >= 70 and ctx.chance(0.015):
        # In hospital today: an admission with no discharge yet.
        reason = rng.choice(("pneumonia", "uti", "collapse", "wrist-fracture"))
        admitted = ctx.any_time(ctx.person.as_of - timedelta(days=rng.randint(1, 6)))
        admission_add(ctx, reason, admitted, emergency=True, imaging_at=admitted, in_hospital=True)


def admission_add(
    ctx: Ctx,
    reason_key: str,
    admitted: datetime,
    *,
    emergency: bool,
    imaging_at: datetime,
    in_hospital: bool = False,
) -> None:
    rng = ctx.rng
    admission = ADMISSIONS[reason_key]
    if reason_key == "pneumonia" and ctx.allergic_to_penicillin:
        admission = replace(admission, medicines=("doxycycline100",))
    hospital = ctx.hospital
    consultant = ctx.consultant()
    low, high = admission.stay_days
    stay = rng.randint(low, high) + (2 if ctx.age >= 80 and high else 0)
    discharge_day = admitted.date() + timedelta(days=stay)
    died = False
    if in_hospital or discharge_day > ctx.last_day:
        if ctx.alive:
            discharged = None
        else:
            discharged, died = at(ctx.last_day, rng.randint(1, 22)), True
    else:
        discharged = at(discharge_day, rng.randint(11, 17), rng.choice((0, 15, 30, 45)))
        if discharged <= admitted:
            discharged = admitted + timedelta(hours=rng.randint(4, 9))
    if died:
        destination = "79"
    elif ctx.age >= 85 and rng.random() < 0.12:
        destination = "85"
    else:
        destination = "19"
    coded = admission.condition
    if coded in RESOLVED_PROBLEMS:
        reason = codes.concept(SNOMED, *RESOLVED_PROBLEMS[coded])
    elif coded:
        condition = CONDITION_BY_KEY[coded]
        reason = codes.concept(SNOMED, condition.code, condition.display)
    else:
        reason = {"text": admission.diagnosis}
    method = (
        (
            "21",
            "Emergency Admission: Emergency Care Department or dental casualty department of the Health "
            "Care Provider",
        )
        if emergency
        else ("12", "Elective Admission: Booked")
    )
    hospitalization: dict = {
        "extension": [
            {
                "url": codes.ADMISSION_METHOD_EXTENSION,
                "valueCodeableConcept": {"coding": [codes.coding(codes.ADMISSION_METHOD, *method)]},
            }
        ],
    }
    if discharged:
        hospitalization["dischargeDisposition"] = {
            "coding": [{"system": codes.DISCHARGE_DESTINATION, "code": destination}],
            "text": DESTINATIONS[destination],
        }
    if discharged is None:
        state = f"in hospital since {fmt_date(admitted.date())}"
    elif died:
        state = f"died in hospital {fmt_date(discharged.date())}"
    else:
        state = f"{fmt_date(admitted.date())} to {fmt_date(discharged.date())}"
    visit = encounter_add(
        ctx,
        ctx.sources.pas,
        cls="IMP",
        kind=codes.SEEN_IN_WARD,
        start=admitted,
        end=discharged,
        reason=reason,
        provider=hospital,
        participant=ctx.clinician(consultant),
        summary=f"{'Emergency' if emergency else 'Planned'} admission, {admission.ward}: "
        f"{admission.diagnosis} ({state})",
        subtype="inpatient" if emergency or admission.stay_days[1] else "day-case",
        specialty=admission.specialty,
        extra={
            "hospitalization": hospitalization,
            "location": [{"location": {"display": f"{admission.ward}, {hospital.name}"}}],
        },
    )
    requester = ctx.clinician(consultant)
    if admission.imaging:
        results.imaging_report_add(
            ctx, admission.imaging, imaging_at + timedelta(minutes=rng.randint(30, 180)), requester=requester
        )
    end = discharged or ctx.cutoff
    if (end - admitted).days >= 2:
        results.lab_report_add(
            ctx, "fbc", admitted + timedelta(days=1, hours=rng.randint(0, 4)), requester=requester
        )
        results.lab_report_add(
            ctx, "ue", admitted + timedelta(days=1, hours=rng.randint(0, 4)), requester=requester
        )
    if coded in RESOLVED_PROBLEMS and discharged:
        problem_add(
            ctx,
            *RESOLVED_PROBLEMS[coded],
            admitted.date(),
            resolved_on=discharged.date(),
            source=ctx.sources.gp,
        )
    elif coded and coded not in RESOLVED_PROBLEMS and coded not in ctx.conditions:
        ctx.conditions[coded] = admitted.date()
        condition = CONDITION_BY_KEY[coded]
        problem_add(ctx, condition.code, condition.display, admitted.date())
    if discharged is None or died:
        return
    written = discharged + timedelta(hours=rng.randint(1, 40))
    letter = letters.discharge_letter(
        ctx,
        hospital,
        admitted=admitted,
        discharged=discharged,
        ward=admission.ward,
        consultant=consultant.name,
        specialty=SPECIALTIES[admission.specialty],
        diagnosis=admission.diagnosis,
        treatment=admission.treatment,
        medicines=admission.medicines,
        follow_up=admission.follow_up,
        destination=DESTINATIONS[destination],
        emergency=emergency,
    )
    letters.document_add(
        ctx,
        ctx.sources.docs,
        letter,
        written=written,
        author=requester,
        organisation=hospital,
        encounter_key=visit,
        specialty=admission.specialty,
        subtype="discharge-letter",
    )
    for key in admission.medicines:
        medicine = MEDICINES[key]
        course_end = discharged + timedelta(days=5) if key in codes.ANTIBIOTICS else None
        active = course_end is None and ctx.alive
        resource = {
            "resourceType": "MedicationStatement",
            "status": "active" if active else "completed",
            "category": {
                "coding": [
                    codes.coding(
                        "http://terminology.hl7.org/CodeSystem/medication-statement-category",
                        "community",
                        "Community",
                    )
                ]
            },
            "medicationCodeableConcept": codes.concept(codes.DMD, medicine.current_id, medicine.display),
            "subject": ctx.subject,
            "effectivePeriod": {
                "start": discharged.isoformat(),
                **({"end": course_end.isoformat()} if course_end else {}),
            },
            "dateAsserted": written.isoformat(),
            "informationSource": ctx.org(hospital),
            "reasonCode": [reason],
            "dosage": [{"text": medicine.dose}],
        }
        ctx.add(
            ctx.sources.docs,
            EntryCategory.MEDICATION,
            resource,
            key=ctx.key("MS"),
            summary=f"{medicine.display}: {medicine.dose.lower()} (started on discharge, {hospital.name})",
            occurred_at=discharged,
            ended_at=course_end,
            updated_at=min(written, ctx.cutoff),
            subtype="discharge",
            code=(codes.DMD, medicine.current_id, medicine.display),
            status=resource["status"],
        )


# --- referrals and clinics ---

SYMPTOM_REFERRALS = (
    ("110", "Knee pain", 40, None),
    ("100", "Lump in the groin", 30, None),
    ("300", "Unexplained weight loss", 50, None),
    ("400", "Recurrent headaches", 18, None),
    ("320", "Exertional chest tightness", 45, None),
)


def referrals_add(ctx: Ctx) -> None:
    for key, onset in list(ctx.conditions.items()):
        condition = CONDITION_BY_KEY[key]
        if not condition.specialty:
            continue
        recent = onset >= ctx.start - timedelta(days=365)
        if ctx.chance(0.45 if recent else 0.12):
            reason = codes.concept(SNOMED, condition.code, condition.display)
            urgent = key in ("breast_cancer", "prostate_cancer")
            referral_add(
                ctx,
                condition.specialty,
                reason,
                condition.display,
                since=max(onset, ctx.start),
                urgent=urgent,
            )
    if ctx.age >= 16 and ctx.chance(0.1):
        options = [r for r in SYMPTOM_REFERRALS if ctx.age >= r[2]]
        if options:
            specialty, text, _, _ = ctx.rng.choice(options)
            referral_add(ctx, specialty, {"text": text}, text, since=ctx.start, urgent=ctx.chance(0.1))


def referral_add(
    ctx: Ctx, specialty: str, reason: dict, reason_text: str, *, since: date, urgent: bool
) -> None:
    rng, person = ctx.rng, ctx.person
    if specialty in codes.MENTAL_HEALTH_SPECIALTIES:
        provider, clinic_source, letter_source = (
            organisation_by_code()["RDY"],
            ctx.sources.community,
            ctx.sources.community,
        )
    elif specialty == "320" and rng.random() < 0.12:
        provider = organisation_by_code()["RHM"]
        clinic_source, letter_source = provider.source("pas"), provider.source("docs")
    else:
        provider, clinic_source, letter_source = ctx.hospital, ctx.sources.pas, ctx.sources.docs
    authored_day = ctx.day_between(since, ctx.last_day)
    authored = ctx.clinic_time(authored_day)
    first_day = ctx.weekday(
        authored_day + timedelta(days=rng.randint(10, 16) if urgent else rng.randint(35, 120))
    )
    name = SPECIALTIES[specialty]
    consultant = ctx.consultant(provider)
    attended_any = first_day < person.as_of and first_day <= ctx.last_day
    status = "completed" if attended_any else ("active" if ctx.alive else "revoked")
    resource = {
        "resourceType": "ServiceRequest",
        "extension": [
            {
                "url": codes.SOURCE_OF_REFERRAL_EXTENSION,
                "valueCodeableConcept": codes.concept(SNOMED, *codes.REFERRED_BY_GP),
            }
        ],
        "identifier": ctx.identifier(ctx.sources.gp, ctx.key("REF")),
        "status": status,
        "intent": "order",
        "priority": "urgent" if urgent else "routine",
        "code": {
            "coding": [codes.coding(codes.SPECIALTY, specialty, name)],
            "text": f"Referral to {name.lower()}",
        },
        "subject": ctx.subject,
        "authoredOn": authored.isoformat(),
        "requester": ctx.clinician(person.gp),
        "performer": [ctx.org(provider)],
        "reasonCode": [reason],
    }
    ctx.add(
        ctx.sources.gp,
        EntryCategory.REFERRAL,
        resource,
        key=resource["identifier"][0]["value"],
        summary=f"{'Urgent r' if urgent else 'R'}eferral to {name.lower()} ({provider.name}): {reason_text}",
        occurred_at=authored,
        subtype="urgent" if urgent else "routine",
        code=(codes.SPECIALTY, specialty, name),
        status=status,
    )
    day, visit = first_day, 1
    clinician = ctx.clinician(consultant)
    location = f"{name} outpatients, {provider.name}"
    while True:
        start = ctx.clinic_time(day, 9, 17)
        booked = (
            authored + timedelta(days=rng.randint(3, 20))
            if visit == 1
            else start - timedelta(days=rng.randint(40, 120))
        )
        booked = min(booked, ctx.cutoff)
        description = f"{name} {'new patient' if visit == 1 else 'follow-up'} appointment"
        if day >= person.as_of:
            if ctx.alive and (day - person.as_of).days < 365:
                appointment_add(
                    ctx,
                    clinic_source,
                    start=start,
                    minutes=20 if visit == 1 else 15,
                    status="booked",
                    description=description,
                    specialty=specialty,
                    booked=booked,
                    subtype="outpatient",
                    practitioner=clinician,
                    location=location,
                    follow_up=visit > 1,
                )
            return
        if day > ctx.last_day:
            return
        roll = rng.random()
        if roll < 0.1:
            appointment_add(
                ctx,
                clinic_source,
                start=start,
                minutes=15,
                status="noshow" if roll < 0.06 else "cancelled",
                description=description,
                specialty=specialty,
                booked=booked,
                subtype="outpatient",
                practitioner=clinician,
                location=location,
                follow_up=visit > 1,
            )
            day = ctx.weekday(day + timedelta(days=rng.randint(14, 42)))
            continue
        minutes = 20 if visit == 1 else 15
        appointment_add(
            ctx,
            clinic_source,
            start=start,
            minutes=minutes,
            status="fulfilled",
            description=description,
            specialty=specialty,
            booked=booked,
            subtype="outpatient",
            practitioner=clinician,
            location=location,
            follow_up=visit > 1,
        )
        discharge = rng.random() < (0.4 if visit == 1 else 0.6)
        outcome_code = (
            ("1", "Discharged from consultant's care (last attendance)")
            if discharge
            else ("2", "Another appointment given")
        )
        key = encounter_add(
            ctx,
            clinic_source,
            cls="AMB",
            kind=codes.ENCOUNTER_FOR_PROBLEM,
            start=start,
            end=start + timedelta(minutes=minutes),
            reason=reason,
            provider=provider,
            participant=clinician,
            summary=f"{name} clinic ({provider.name}): {reason_text.lower()}, {outcome_code[1].lower()}",
            subtype="outpatient",
            specialty=specialty,
            extra={
                "extension": [
                    {
                        "url": codes.OUTCOME_EXTENSION,
                        "valueCodeableConcept": {
                            "coding": [codes.coding(codes.OUTCOME_OF_ATTENDANCE, *outcome_code)]
                        },
                    }
                ]
            },
        )
        if visit == 1 or rng.random() < 0.5:
            plan = (
                "Discharged back to your care; happy to see again if things change."
                if discharge
                else "I will see them again in clinic in a few months; an appointment has been made."
            )
            letter = letters.clinic_letter(
                ctx,
                provider,
                seen=day,
                clinician=consultant.name,
                specialty=name,
                reason=reason_text,
                first_visit=visit == 1,
                outcome=plan,
            )
            letters.document_add(
                ctx,
                letter_source,
                letter,
                written=start + timedelta(days=rng.randint(2, 12)),
                author=clinician,
                organisation=provider,
                encounter_key=key,
                specialty=specialty,
                subtype="clinic-letter",
            )
        if discharge:
            return
        visit += 1
        day = ctx.weekday(day + timedelta(days=rng.randint(56, 182)))


# --- community and mental health ---

DISTRICT_NURSING = (
    "Leg ulcer dressing",
    "Pressure area care",
    "Catheter care",
    "Blood test at home",
    "Wound check",
)


def community_care_add(ctx: Ctx) -> None:
    rng, rdy = ctx.rng, organisation_by_code()["RDY"]
    source = ctx.sources.community
    if ctx.age >= 80 and ctx.chance(0.15):
        nurse = {"display": f"District nurse, {ctx.person.town.name} community nursing team"}
        for _ in range(rng.randint(2, 8)):
            start = ctx.clinic_time(ctx.past_day(since=ctx.last_day - timedelta(days=540)), 9, 16)
            task = rng.choice(DISTRICT_NURSING)
            encounter_add(
                ctx,
                source,
                cls="HH",
                kind=codes.HOME_VISIT,
                start=start,
                end=start + timedelta(minutes=rng.randint(20, 45)),
                reason={"text": task},
                provider=rdy,
                participant=nurse,
                summary=f"District nurse home visit: {task.lower()}",
                subtype="district-nursing",
                specialty="950",
            )
    if ctx.conditions.keys() & {"schizophrenia", "bipolar"}:
        worker = {"display": f"Care coordinator, {ctx.person.town.name} community mental health team"}
        for _ in range(rng.randint(3, 8)):
            start = ctx.clinic_time(ctx.past_day(), 9, 17)
            home = rng.random() < 0.5
            encounter_add(
                ctx,
                source,
                cls="HH" if home else "AMB",
                kind=codes.HOME_VISIT if home else codes.ENCOUNTER_FOR_PROBLEM,
                start=start,
                end=start + timedelta(minutes=rng.randint(30, 60)),
                reason={"text": "Mental health review"},
                provider=rdy,
                participant=worker,
                summary=f"Community mental health team {'home visit' if home else 'review'}",
                subtype="mental-health",
                specialty="710",
            )
