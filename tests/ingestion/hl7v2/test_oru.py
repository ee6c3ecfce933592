"""ORU^R01: values, units, ranges, comparators, flags, statuses, comments, text reports and keys."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ingestion.hl7v2 import Hl7ParseError, map_message
from records.models import EntryCategory, Sensitivity
from tests.ingestion.hl7v2 import RECEIVED, assert_valid_record, message

PID = "PID|1||9990000018^^^NHS^NH~H123456^^^RBD^MR||Smith^Jane||19800115|F"


def segment(name: str, **fields: str) -> str:
    """A segment with the given fields (f3="x" is field 3) and the rest empty."""
    numbered = {int(key[1:]): value for key, value in fields.items()}
    return "|".join([name, *(numbered.get(n, "") for n in range(1, max(numbered) + 1))])


FBC = segment(
    "OBR",
    f1="1",
    f2="P555^ICE",
    f3="F777^WINPATH",
    f4="1022441000000102^Full blood count^SCT",
    f7="20260715083000",
    f22="20260715101500",
    f24="HM",
    f25="{status}",
)


def oru(*segments: str, control_id: str = "ORU1", status: str = "F", version: str = "2.4") -> bytes:
    return message(
        f"MSH|^~\\&|WINPATH|RBD|DCR|DCR|20260715101600||ORU^R01|{control_id}|P|{version}",
        PID,
        *(segment.replace("{status}", status) for segment in segments),
    )


def obx(
    n: int, kind: str, code: str, value: str, unit: str = "", ref: str = "", flag: str = "", status: str = "F"
):
    return f"OBX|{n}|{kind}|{code}||{value}|{unit}|{ref}|{flag}|||{status}|||20260715083000"


HB = obx(1, "NM", "1022431000000105^Haemoglobin estimation^SCT", "101", "g/L^g/L^UCUM", "120-150", "L")


def mapped(raw: bytes):
    record = map_message(raw, received_at=RECEIVED)
    assert_valid_record(record)
    return record


def results(record):
    return [item for item in record.items if item.category == EntryCategory.LAB_RESULT]


class TestNumericResults:
    def test_a_numeric_result_has_its_value_unit_range_and_flag(self):
        record = mapped(oru(FBC, HB))

        report, result = record.items
        assert report.category == EntryCategory.LAB_REPORT
        assert report.business_key == "DiagnosticReport|WINPATH|F777"
        assert report.summary == "Full blood count: 1 result"
        assert report.subtype == "hm"
        assert result.business_key == "Observation|WINPATH|F777-1022431000000105"
        assert result.parent_business_key == report.business_key
        assert result.summary == "Haemoglobin estimation: 101 g/L (L)"
        assert (result.code_system, result.code) == ("http://snomed.info/sct", "1022431000000105")
        resource = result.resource
        assert resource["valueQuantity"] == {
            "value": 101,
            "unit": "g/L",
            "system": "http://unitsofmeasure.org",
            "code": "g/L",
        }
        assert resource["referenceRange"] == [
            {
                "low": {"value": 120, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
                "high": {"value": 150, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
                "text": "120-150",
            }
        ]
        assert resource["interpretation"][0]["coding"][0]["code"] == "L"
        assert resource["effectiveDateTime"] == "2026-07-15T08:30:00+01:00"
        assert result.occurred_at == datetime(2026, 7, 15, 7, 30, tzinfo=UTC)
        assert report.resource["result"][0]["identifier"] == resource["identifier"][0]
        assert report.resource["issued"] == "2026-07-15T10:15:00+01:00"

    @pytest.mark.parametrize(
        ("kind", "value", "comparator", "number"),
        [
            ("NM", "<44", "<", 44),
            ("NM", ">=90", ">=", 90),
            ("SN", "<^44", "<", 44),
            ("SN", "^182", None, 182),
        ],
    )
    def test_comparators_are_kept(self, kind, value, comparator, number):
        record = mapped(oru(FBC, obx(1, kind, "EGFR^eGFR^L", value, "mL/min")))

        quantity = results(record)[0].resource["valueQuantity"]
        assert quantity.get("comparator") == comparator
        assert quantity["value"] == number

    def test_a_structured_numeric_range_and_ratio(self):
        record = mapped(
            oru(FBC, obx(1, "SN", "A^Range^L", "^10^-^20", "mmol/L"), obx(2, "SN", "B^Titre^L", "^1^:^128"))
        )

        ranged, ratio = results(record)
        assert ranged.resource["valueRange"]["low"]["value"] == 10
        assert ranged.resource["valueRange"]["high"]["value"] == 20
        assert ratio.resource["valueRatio"]["denominator"]["value"] == 128

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("[ < 2.0]", {"high": 2.0}),
            ("> 1.5", {"low": 1.5}),
            ("49 - 92", {"low": 49, "high": 92}),
            ("negative", {}),
        ],
    )
    def test_reference_ranges_in_the_forms_labs_write(self, text, expected):
        record = mapped(oru(FBC, obx(1, "NM", "X^Test^L", "1.0", "mmol/L", text)))

        [found] = results(record)[0].resource["referenceRange"]
        assert {key: found[key]["value"] for key in ("low", "high") if key in found} == expected
        assert found["text"] == text.strip("[] ").strip()

    def test_a_non_number_in_a_numeric_result_is_kept_as_text_with_a_warning(self):
        record = mapped(oru(FBC, obx(1, "NM", "X^Test^L", "Haemolysed")))

        assert results(record)[0].resource["valueString"] == "Haemolysed"
        assert any("not a number" in warning for warning in record.warnings)

    def test_escaped_delimiters_in_units_are_decoded(self):
        record = mapped(oru(FBC, obx(1, "NM", "WBC^White cells^L", "10.1", "10\\S\\9/L", "4.0-11.0")))

        assert results(record)[0].resource["valueQuantity"]["unit"] == "10^9/L"

    def test_repeated_abnormal_flags_are_all_kept(self):
        record = mapped(oru(FBC, obx(1, "NM", "X^Test^L", "9", "", "", "H~A")))

        codes = [c["coding"][0]["code"] for c in results(record)[0].resource["interpretation"]]
        assert codes == ["H", "A"]
        assert results(record)[0].summary.endswith("(H, A)")


class TestStatuses:
    @pytest.mark.parametrize(
        ("obr", "obx_status", "report", "result"),
        [
            ("F", "F", "final", "final"),
            ("P", "P", "preliminary", "preliminary"),
            ("C", "C", "corrected", "corrected"),
            ("X", "X", "cancelled", "cancelled"),
        ],
    )
    def test_result_status_is_mapped(self, obr, obx_status, report, result):
        record = mapped(oru(FBC, obx(1, "NM", "X^Test^L", "1", status=obx_status), status=obr))

        assert record.items[0].status == report
        assert record.items[0].resource["status"] == report
        assert results(record)[0].status == result

    def test_an_empty_result_status_takes_the_report_status(self):
        record = mapped(oru(FBC, obx(1, "NM", "X^Test^L", "1", status=""), status="P"))

        assert results(record)[0].status == "preliminary"


class TestCommentsAndText:
    def test_nte_comments_go_to_their_result_and_their_report(self):
        record = mapped(
            oru(FBC, "NTE|1||Sample slightly haemolysed", HB, "NTE|1||Repeat in 3 months~if symptomatic")
        )

        report, result = record.items
        assert report.resource["conclusion"] == "Sample slightly haemolysed"
        assert result.resource["note"] == [{"text": "Repeat in 3 months\nif symptomatic"}]

    def test_a_formatted_text_radiology_report_is_an_imaging_report_kept_whole(self):
        record = mapped(
            oru(
                segment(
                    "OBR",
                    f1="1",
                    f2="P1^ICE",
                    f3="R555^CRIS",
                    f4="XCHES^XR Chest^NICIP",
                    f32="C123&Grey&Meredith",
                    f7="20260715090000",
                    f24="RAD",
                    f25="F",
                ),
                "OBX|1|FT|||Findings:\\.br\\Clear lungs \\T\\ normal heart.\\.br\\No effusion.||||||F",
            )
        )

        [report] = record.items
        assert report.category == EntryCategory.IMAGING_REPORT
        assert report.subtype == "rad"
        text = "Findings:\nClear lungs & normal heart.\nNo effusion."
        assert report.resource["conclusion"] == text
        assert base64.b64decode(report.resource["presentedForm"][0]["data"]).decode() == text
        assert report.summary == "XR Chest: Findings: Clear lungs & normal heart. No effusion."
        assert report.resource["resultsInterpreter"] == [{"type": "Practitioner", "display": "Meredith Grey"}]

    def test_a_textual_report_without_a_section_is_read_as_imaging(self):
        record = mapped(
            oru(
                segment(
                    "OBR", f1="1", f3="R556^CRIS", f4="US1^Ultrasound abdomen^L", f7="20260715090000", f25="F"
                ),
                "OBX|1|TX|||Liver normal.||||||F",
                "OBX|2|TX|||Gallbladder normal.||||||F",
            )
        )

        assert record.items[0].category == EntryCategory.IMAGING_REPORT
        assert record.items[0].resource["conclusion"] == "Liver normal.\nGallbladder normal."

    def test_an_embedded_pdf_is_kept_as_a_presented_form(self):
        pdf = base64.b64encode(b"%PDF-1.4 report").decode()
        record = mapped(oru(FBC, HB, f"OBX|2|ED|PDF^Report^L||^AP^PDF^Base64^{pdf}||||||F"))

        [form] = record.items[0].resource["presentedForm"]
        assert form["contentType"] == "application/pdf"
        assert base64.b64decode(form["data"]) == b"%PDF-1.4 report"


class TestKeysAndSensitivity:
    def test_a_resend_under_a_new_control_id_gives_the_same_keys(self):
        first = mapped(oru(FBC, HB, control_id="A1", status="P"))
        corrected = mapped(oru(FBC, HB.replace("|101|", "|110|"), control_id="A2", status="C"))

        assert [i.business_key for i in first.items] == [i.business_key for i in corrected.items]
        assert corrected.items[0].status == "corrected"

    def test_the_placer_order_number_is_the_key_when_there_is_no_filler(self):
        record = mapped(oru("OBR|1|P555^ICE||X^Test^L", obx(1, "NM", "X^Test^L", "1")))

        assert record.items[0].business_key == "DiagnosticReport|ICE|P555"

    def test_a_report_with_no_order_number_is_refused(self):
        with pytest.raises(Hl7ParseError) as refused:
            map_message(oru("OBR|1|||X^Test^L", obx(1, "NM", "X^Test^L", "1")))
        assert refused.value.location == "OBR-3"

    def test_two_reports_in_one_message(self):
        record = mapped(oru(FBC, HB, "OBR|2||F778^WINPATH|U^U and E^L", obx(1, "NM", "NA^Sodium^L", "140")))

        reports = [item for item in record.items if item.category == EntryCategory.LAB_REPORT]
        assert [r.business_key for r in reports] == [
            "DiagnosticReport|WINPATH|F777",
            "DiagnosticReport|WINPATH|F778",
        ]
        assert results(record)[1].parent_business_key == "DiagnosticReport|WINPATH|F778"

    def test_a_restricted_order_makes_every_item_restricted(self):
        record = mapped(oru(segment("ORC", f1="RE", f2="P555^ICE", f3="F777^WINPATH", f28="R"), FBC, HB))

        assert {item.sensitivity for item in record.items} == {Sensitivity.RESTRICTED}

    def test_a_sensitive_coded_result_is_withheld_by_its_code(self):
        record = mapped(oru(FBC, obx(1, "CWE", "X^HIV screen^L", "86406008^HIV infection^SCT")))

        assert results(record)[0].sensitivity == Sensitivity.SEXUAL_HEALTH
