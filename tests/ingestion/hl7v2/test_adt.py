"""ADT: the person, GP practice, next of kin, the encounter's lifecycle, cancellations and merges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ingestion.canonical import LocalId
from ingestion.hl7v2 import Hl7ParseError, UnsupportedMessage, map_message
from records.models import EntryCategory
from tests.ingestion.hl7v2 import RECEIVED, assert_valid_record, message

NHS = "https://fhir.nhs.uk/Id/nhs-number"
PID = (
    "PID|1||9990000018^^^NHS^NH~H123456^^^RBD^MR||O'Brien^Siobhán^Mary^^Mrs~Shiv^^^^^^N||19800115|F|||"
    "12 High Street^Flat 2^Dorchester^Dorset^dt1 1aa^GBR^H||01305 123456^PRN^PH~07700 900123^ORN^CP"
    "~^NET^Internet^siobhan@example.org|||||||||||||||||||01"
)
PD1 = "PD1|||Fordington Surgery^^J81626|G1234567^Jones^Anne^^^Dr"
NK1 = (
    "NK1|1|O'Brien^Patrick|SPO^Spouse^HL70063|12 High Street^^Dorchester^^DT1 1AA|01305 654321||N^Next of kin"
)
CARER = "NK1|2|Smith^Carol|CGV^Caregiver^HL70063|||07700 900456|C^Emergency contact"


def adt(trigger: str, *segments: str, control_id: str = "ADT1", when: str = "20260715103000") -> bytes:
    return message(
        f"MSH|^~\\&|PAS|RBD|DCR|DCR|{when}||ADT^{trigger}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{trigger}|{when}",
        *segments,
    )


def pv1(*, discharged: str = "", disposition: str = "", location: str = "WARD7^BAY2^BED3^RBD") -> str:
    fields = [""] * 46
    fields[0] = "PV1"
    fields[1] = "1"
    fields[2] = "I"
    fields[3] = location
    fields[7] = "C1234567^Grey^Meredith^^^Dr"
    fields[10] = "MED^General medicine"
    fields[14] = "1"
    fields[19] = "V998877^^^RBD^VN"
    fields[36] = disposition
    fields[44] = "20260715090000"
    fields[45] = discharged
    return "|".join(fields)


def mapped(raw: bytes):
    record = map_message(raw, received_at=RECEIVED)
    assert_valid_record(record)
    return record


def item_in(record, category):
    [found] = [item for item in record.items if item.category == category]
    return found


class TestPerson:
    def test_pid_gives_the_nhs_number_the_hospital_number_and_demographics(self):
        record = mapped(adt("A28", PID, PD1))

        identity = record.patient.identity
        assert identity.nhs_number == "9990000018"
        assert identity.nhs_number_status == "01"
        assert identity.local_ids == [LocalId("RBD", "H123456", "MR")]
        assert record.patient.demographics == {
            "family_name": "O'Brien",
            "given_names": "Siobhán Mary",
            "title": "Mrs",
            "preferred_name": "Shiv",
            "gender": "female",
            "date_of_birth": date(1980, 1, 15),
            "phone_home": "01305 123456",
            "phone_mobile": "07700 900123",
            "email": "siobhan@example.org",
            "nhs_number_status": "01",
            "registered_gp_code": "G1234567",
            "registered_gp_name": "Dr Anne Jones",
        }
        assert record.patient.registered_practice_ods == "J81626"
        address = record.patient.address
        assert (address.lines, address.town, address.county, address.postcode) == (
            "12 High Street\nFlat 2",
            "Dorchester",
            "Dorset",
            "DT1 1AA",
        )
        assert record.patient.resource["identifier"][0] == {"system": NHS, "value": "9990000018"}

    def test_message_time_without_a_zone_is_uk_time(self):
        summer = mapped(adt("A28", PID, when="20260715103000"))
        winter = mapped(adt("A28", PID, when="20260115103000"))

        assert summer.patient.source_updated_at == datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
        assert winter.patient.source_updated_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)

    def test_an_nhs_number_failing_its_check_is_kept_as_sent_but_never_used_as_a_reference(self):
        record = mapped(adt("A01", PID.replace("9990000018", "9990000019"), pv1()))

        assert record.patient.identity.nhs_number == "9990000019"
        assert any(
            "9990000019" in warning and "not a valid NHS number" in warning for warning in record.warnings
        )
        encounter = item_in(record, EntryCategory.ENCOUNTER)
        assert encounter.resource["subject"]["identifier"] == {"system": "RBD", "value": "H123456"}
        assert all(i.get("system") != NHS for i in record.patient.resource["identifier"])

    def test_the_simulated_hospital_nhs_number_convention_is_read(self):
        pid = (
            "PID|1|2590157853^^^SIMULATOR MRN^MRN|2590157853^^^SIMULATOR MRN^MRN~9990000026^^^NHSNBR^NHSNMBR"
        )
        record = mapped(adt("A28", pid))

        assert record.patient.identity.nhs_number == "9990000026"
        assert record.patient.identity.local_ids == [LocalId("SIMULATOR MRN", "2590157853", "MRN")]

    def test_a_practice_code_that_is_not_an_ods_code_is_not_applied(self):
        record = mapped(adt("A28", PID, "PD1|||FAMILY PRACTICE^^12345|"))

        assert record.patient.registered_practice_ods == ""
        assert any("PD1-3" in warning and "12345" in warning for warning in record.warnings)

    def test_a_date_of_birth_that_is_not_a_date_is_not_applied(self):
        record = mapped(adt("A28", PID.replace("19800115", "196203520")))

        assert "date_of_birth" not in record.patient.demographics
        assert any("PID-7" in warning for warning in record.warnings)

    def test_next_of_kin_and_carers_become_related_people(self):
        record = mapped(adt("A31", PID, NK1, CARER))

        spouse, carer = record.items
        assert spouse.category == carer.category == EntryCategory.RELATED_PERSON
        assert spouse.subtype == "next-of-kin"
        assert carer.subtype == "carer"
        assert spouse.summary == "Patrick O'Brien (Next of kin / Spouse), 01305 654321"
        assert spouse.resource["patient"]["identifier"] == {"system": NHS, "value": "9990000018"}
        assert spouse.resource["address"][0]["postalCode"] == "DT1 1AA"
        again = mapped(adt("A31", PID, CARER, NK1, control_id="ADT2"))
        assert {item.business_key for item in again.items} == {spouse.business_key, carer.business_key}

    def test_z_segments_are_ignored(self):
        record = mapped(adt("A28", PID, "ZPI|1|whatever^they^send", "ZXX|"))

        assert record.patient.identity.nhs_number == "9990000018"

    def test_a_message_with_no_pid_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(adt("A01", pv1()))
        assert refused.value.location == "PID"

    def test_two_patients_in_one_message_are_refused(self):
        with pytest.raises(Hl7ParseError, match="2 patients") as refused:
            map_message(adt("A01", PID, pv1(), PID))
        assert refused.value.location == "PID"


class TestEncounter:
    def test_an_admission_opens_an_inpatient_encounter_keyed_by_the_visit_number(self):
        record = mapped(adt("A01", PID, pv1()))

        encounter = item_in(record, EntryCategory.ENCOUNTER)
        assert encounter.business_key == "Encounter|RBD|V998877"
        assert encounter.status == "in-progress"
        assert encounter.subtype == "inpatient"
        assert encounter.occurred_at == datetime(2026, 7, 15, 8, 0, tzinfo=UTC)
        assert encounter.ended_at is None
        assert encounter.summary == "Inpatient: General medicine at WARD7 BAY2 BED3, RBD"
        resource = encounter.resource
        assert resource["class"]["code"] == "IMP"
        assert resource["identifier"][0]["value"] == "V998877"
        assert resource["participant"][0]["individual"]["display"] == "Dr Meredith Grey"

    def test_a_discharge_finishes_the_same_encounter_with_its_outcome(self):
        admitted = item_in(mapped(adt("A01", PID, pv1())), EntryCategory.ENCOUNTER)
        record = mapped(
            adt(
                "A03",
                PID,
                pv1(discharged="20260720143000", disposition="01^Discharged home"),
                control_id="D1",
            )
        )

        encounter = item_in(record, EntryCategory.ENCOUNTER)
        assert encounter.business_key == admitted.business_key
        assert encounter.status == "finished"
        assert encounter.ended_at == datetime(2026, 7, 20, 13, 30, tzinfo=UTC)
        assert encounter.resource["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "01"
        assert encounter.summary.endswith("discharged (Discharged home)")

    def test_without_pv1_dates_the_event_time_dates_the_admission_and_the_discharge(self):
        fields = pv1().split("|")
        fields[44] = ""
        admitted = item_in(mapped(adt("A01", PID, "|".join(fields))), EntryCategory.ENCOUNTER)
        discharged = item_in(mapped(adt("A03", PID, pv1(), when="20260720120000")), EntryCategory.ENCOUNTER)

        assert admitted.occurred_at == datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
        assert discharged.ended_at == datetime(2026, 7, 20, 11, 0, tzinfo=UTC)
        assert discharged.resource["period"]["end"] == "2026-07-20T12:00:00+01:00"

    def test_a_transfer_records_the_new_and_the_previous_location(self):
        segment = pv1(location="WARD9^BAY1^BED1^RBD")
        fields = segment.split("|")
        fields[6] = "WARD7^BAY2^BED3^RBD"
        record = mapped(adt("A02", PID, "|".join(fields)))

        locations = item_in(record, EntryCategory.ENCOUNTER).resource["location"]
        assert [(loc["location"]["display"], loc["status"]) for loc in locations] == [
            ("WARD9 BAY1 BED1, RBD", "active"),
            ("WARD7 BAY2 BED3, RBD", "completed"),
        ]

    @pytest.mark.parametrize(
        ("trigger", "status"), [("A04", "arrived"), ("A05", "planned"), ("A08", "in-progress")]
    )
    def test_each_trigger_gives_its_status(self, trigger, status):
        assert item_in(mapped(adt(trigger, PID, pv1())), EntryCategory.ENCOUNTER).status == status

    def test_an_update_with_a_discharge_date_is_finished(self):
        record = mapped(adt("A08", PID, pv1(discharged="20260720143000")))

        assert item_in(record, EntryCategory.ENCOUNTER).status == "finished"

    def test_cancelling_an_admission_withdraws_the_encounter(self):
        record = mapped(adt("A11", PID, pv1()))

        assert record.cancelled_keys == ["Encounter|RBD|V998877"]
        assert record.items == []

    def test_cancelling_a_discharge_reopens_the_encounter(self):
        record = mapped(adt("A13", PID, pv1(discharged="20260720143000")))

        encounter = item_in(record, EntryCategory.ENCOUNTER)
        assert encounter.status == "in-progress"
        assert encounter.ended_at is None
        assert "end" not in encounter.resource.get("period", {})

    def test_person_events_record_no_encounter(self):
        record = mapped(adt("A28", PID, pv1()))

        assert [item.category for item in record.items] == []

    def test_a_visit_without_a_number_is_a_warning_not_a_guess(self):
        fields = pv1().split("|")
        fields[19] = ""
        record = mapped(adt("A01", PID, "|".join(fields)))

        assert record.items == []
        assert any("PV1-19" in warning for warning in record.warnings)

    def test_a_cancellation_without_a_visit_number_is_refused(self):
        fields = pv1().split("|")
        fields[19] = ""
        with pytest.raises(Hl7ParseError) as refused:
            map_message(adt("A11", PID, "|".join(fields)))
        assert refused.value.location == "PV1-19"

    def test_an_unsupported_trigger_is_refused_naming_msh_9(self):
        with pytest.raises(UnsupportedMessage, match=r"ADT\^A47") as refused:
            map_message(adt("A47", PID))
        assert refused.value.location == "MSH-9"


class TestMerge:
    @pytest.mark.parametrize("trigger", ["A40", "A39", "A34"])
    def test_a_merge_names_the_surviving_and_the_retired_identity(self, trigger):
        record = mapped(adt(trigger, PID, "MRG|H999999^^^RBD^MR~9990000034^^^NHS^NH"))

        assert record.merge.surviving.nhs_number == "9990000018"
        assert record.merge.retired.nhs_number == "9990000034"
        assert record.merge.retired.local_ids == [LocalId("RBD", "H999999", "MR")]
        assert record.items == []

    def test_a_merge_without_mrg_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(adt("A40", PID))
        assert refused.value.location == "MRG"

    def test_a_merge_with_an_empty_mrg_1_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(adt("A40", PID, "MRG|"))
        assert refused.value.location == "MRG-1"

    def test_two_merges_in_one_message_are_refused(self):
        with pytest.raises(Hl7ParseError, match="one merge per message"):
            map_message(adt("A40", PID, "MRG|H1^^^RBD^MR", PID, "MRG|H2^^^RBD^MR"))


def test_empty_repetitions_do_not_hide_the_ones_after_them():
    pid = "PID|1||~H777^^^RBD^MR~~9990000018^^^NHS^NH||Smith^Jane"
    record = mapped(adt("A28", pid))

    assert record.patient.identity.nhs_number == "9990000018"
    assert record.patient.identity.local_ids == [LocalId("RBD", "H777", "MR")]
