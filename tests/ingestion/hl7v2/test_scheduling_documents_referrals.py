"""SIU appointments, MDM documents and REF referrals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ingestion.hl7v2 import Hl7ParseError, map_message
from records.models import EntryCategory, Sensitivity
from tests.ingestion.hl7v2 import RECEIVED, assert_valid_record, message

PID = "PID|1||9990000018^^^NHS^NH~H123456^^^RBD^MR||Smith^Jane||19800115|F"


def segment(name: str, **fields: str) -> str:
    numbered = {int(key[1:]): value for key, value in fields.items()}
    return "|".join([name, *(numbered.get(n, "") for n in range(1, max(numbered) + 1))])


def msh(kind: str, control_id: str = "M1") -> str:
    return f"MSH|^~\\&|APP|RBD|DCR|DCR|20260715101600||{kind}|{control_id}|P|2.5.1"


def mapped(raw: bytes):
    record = map_message(raw, received_at=RECEIVED)
    assert_valid_record(record)
    return record


class TestAppointments:
    SCH = segment(
        "SCH",
        f1="PL1^ICE",
        f2="APT42^RBD",
        f7="^Follow-up of chest pain",
        f8="FU^Follow-up^L",
        f9="30",
        f10="min",
        f25="Booked",
    )
    AIS = segment("AIS", f1="1", f3="CARD^Cardiology clinic^L", f4="20260801093000", f7="30", f8="min")
    AIL = segment("AIL", f1="1", f3="OPD2^Room 4^^Dorset County Hospital")
    AIP = segment("AIP", f1="1", f3="C1234567^Grey^Meredith^^^Dr", f4="ATND^Consultant^L")

    def siu(self, trigger: str, *extra: str, sch: str | None = None, control_id: str = "S1") -> bytes:
        return message(msh(f"SIU^{trigger}^SIU_S12", control_id), sch or self.SCH, PID, "RGS|1", *extra)

    def test_a_new_appointment_is_booked_with_its_time_place_and_clinician(self):
        [item] = mapped(self.siu("S12", self.AIS, self.AIL, self.AIP)).items

        assert item.category == EntryCategory.APPOINTMENT
        assert item.business_key == "Appointment|RBD|APT42"
        assert item.status == "booked"
        assert item.occurred_at == datetime(2026, 8, 1, 8, 30, tzinfo=UTC)
        assert item.ended_at == datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
        assert item.summary == "Cardiology clinic at OPD2 Room 4 Dorset County Hospital"
        assert item.subtype == "follow-up"
        resource = item.resource
        assert resource["start"] == "2026-08-01T09:30:00+01:00"
        assert resource["minutesDuration"] == 30
        actors = [p["actor"].get("type") for p in resource["participant"]]
        assert actors == ["Patient", "Practitioner", "Location"]

    def test_a_reschedule_moves_the_same_appointment(self):
        moved = self.AIS.replace("20260801093000", "20260805140000")
        [first] = mapped(self.siu("S12", self.AIS)).items
        [second] = mapped(self.siu("S13", moved, control_id="S2")).items

        assert second.business_key == first.business_key
        assert second.occurred_at == datetime(2026, 8, 5, 13, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("trigger", "status"), [("S14", "booked"), ("S15", "cancelled"), ("S26", "noshow")]
    )
    def test_the_lifecycle_events_set_the_status(self, trigger, status):
        [item] = mapped(self.siu(trigger, self.AIS)).items

        assert item.status == status
        assert item.resource["status"] == status

    def test_the_filler_status_is_read_when_the_event_does_not_decide(self):
        [item] = mapped(self.siu("S14", self.AIS, sch=self.SCH.replace("Booked", "Complete"))).items

        assert item.status == "fulfilled"

    def test_the_timing_quantity_gives_the_time_when_no_resource_does(self):
        sch = self.SCH + "|" * 0
        fields = sch.split("|")
        fields[11] = "^^30^20260801093000^20260801100000"
        [item] = mapped(self.siu("S12", sch="|".join(fields))).items

        assert item.resource["end"] == "2026-08-01T10:00:00+01:00"

    def test_an_appointment_without_an_id_is_refused(self):
        sch = segment("SCH", f7="^Reason", f25="Booked")
        with pytest.raises(Hl7ParseError) as refused:
            map_message(self.siu("S12", sch=sch))
        assert refused.value.location == "SCH-2"


class TestDocuments:
    def txa(self, **changes: str) -> str:
        fields = {
            "f1": "1",
            "f2": "DS^Discharge summary^L",
            "f3": "TX",
            "f4": "20260720150000",
            "f9": "C1234567^Grey^Meredith^^^Dr",
            "f12": "DOC-1^RBD",
            "f17": "AU",
            "f19": "AV",
        }
        fields.update(changes)
        return segment("TXA", **fields)

    def mdm(self, trigger: str, *segments: str) -> bytes:
        return message(msh(f"MDM^{trigger}^MDM_T02"), "EVN|" + trigger, PID, "PV1|1|I", *segments)

    def test_a_discharge_letter_keeps_its_text_lines_as_an_attachment(self):
        record = mapped(
            self.mdm(
                "T02",
                self.txa(),
                "OBX|1|TX|||Diagnosis: NSTEMI.||||||F",
                "OBX|2|TX|||Plan: cardiology follow-up \\T\\ statins.||||||F",
            )
        )

        [item] = record.items
        assert item.category == EntryCategory.DOCUMENT
        assert item.business_key == "DocumentReference|RBD|DOC-1"
        assert item.subtype == "discharge-letter"
        assert item.status == "final"
        assert item.summary == "Discharge summary by Dr Meredith Grey"
        [content] = item.resource["content"]
        assert content["attachment"]["contentType"].startswith("text/plain")
        text = base64.b64decode(content["attachment"]["data"]).decode()
        assert text == "Diagnosis: NSTEMI.\nPlan: cardiology follow-up & statins."

    def test_a_base64_attachment_is_kept_as_sent(self):
        pdf = b"%PDF-1.7 discharge letter"
        encoded = base64.b64encode(pdf).decode()
        record = mapped(
            self.mdm("T02", self.txa(), f"OBX|1|ED|PDF^Letter^L||RBD^AP^PDF^Base64^{encoded}||||||F")
        )

        [content] = record.items[0].resource["content"]
        assert content["attachment"]["contentType"] == "application/pdf"
        assert base64.b64decode(content["attachment"]["data"]) == pdf

    def test_an_attachment_that_is_not_base64_is_a_warning(self):
        record = mapped(
            self.mdm("T02", self.txa(), "OBX|1|ED|PDF^Letter^L||^AP^PDF^Base64^@@not base64@@||||||F")
        )

        assert any("not valid" in warning for warning in record.warnings)

    def test_an_edit_replaces_the_original_entry(self):
        record = mapped(
            self.mdm("T08", self.txa(f12="DOC-2^RBD", f13="DOC-1^RBD"), "OBX|1|TX|||Corrected text||||||F")
        )

        [item] = record.items
        assert item.business_key == "DocumentReference|RBD|DOC-1"
        assert item.resource["masterIdentifier"]["value"] == "DOC-2"
        assert item.resource["relatesTo"][0]["code"] == "replaces"
        assert item.status == "amended"

    def test_a_cancel_notification_withdraws_the_document(self):
        record = mapped(self.mdm("T11", self.txa(f19="CA")))

        assert record.cancelled_keys == ["DocumentReference|RBD|DOC-1"]
        assert record.items == []

    def test_a_restricted_document_is_restricted(self):
        record = mapped(self.mdm("T02", self.txa(f18="R"), "OBX|1|TX|||Text||||||F"))

        assert record.items[0].sensitivity == Sensitivity.RESTRICTED

    def test_a_document_without_a_number_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(self.mdm("T02", self.txa(f12="")))
        assert refused.value.location == "TXA-12"


class TestReferrals:
    RF1 = segment(
        "RF1",
        f1="P^Pending^HL70283",
        f2="U^Urgent",
        f3="Med^Medical^HL70281",
        f5="O^Outpatient^HL70284",
        f6="REF-9^RBD",
        f7="20260701",
    )
    PRD_FROM = "PRD|RP^Referring Provider^HL70286|Jones^Anne^^^Dr|||||G1234567^GMP"
    PRD_TO = (
        "PRD|RT^Referred to Provider^HL70286|Grey^Meredith^^^Dr||^^^Cardiology^^^^^^Dorset County Hospital"
    )

    def ref(self, trigger: str, rf1: str | None = None) -> bytes:
        return message(msh(f"REF^{trigger}^REF_I12"), rf1 or self.RF1, self.PRD_FROM, self.PRD_TO, PID)

    def test_a_referral_is_a_service_request_keyed_by_its_id(self):
        [item] = mapped(self.ref("I12")).items

        assert item.category == EntryCategory.REFERRAL
        assert item.business_key == "ServiceRequest|RBD|REF-9"
        assert item.status == "active"
        assert item.resource["priority"] == "urgent"
        assert item.resource["requester"]["display"] == "Dr Anne Jones"
        assert item.summary == "Medical to Dr Meredith Grey, Dorset County Hospital (urgent)"
        assert item.subtype == "outpatient"

    def test_a_modification_updates_and_a_cancellation_revokes_the_same_referral(self):
        [modified] = mapped(self.ref("I13")).items
        [cancelled] = mapped(self.ref("I14")).items

        assert modified.business_key == cancelled.business_key == "ServiceRequest|RBD|REF-9"
        assert cancelled.status == "revoked"

    def test_a_referral_without_an_id_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(self.ref("I12", rf1=segment("RF1", f1="P", f3="Med")))
        assert refused.value.location == "RF1-6"
