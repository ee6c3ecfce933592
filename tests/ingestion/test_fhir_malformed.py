"""Bodies that are not FHIR, or not acceptable FHIR, come back as clear OperationOutcomes."""

import json

import pytest

from ingestion.fhir import FhirReader, parse_fhir
from ingestion.fhir.outcome import FhirInputError
from ingestion.fhir.xml import xml_to_json
from records.fhir import validate_resource
from tests.ingestion import FIXTURES, RECEIVED

PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
}


def observation(**changes):
    resource = {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1000661000000107"}]},
        "subject": {"reference": "urn:uuid:p1"},
    }
    resource.update(changes)
    return {k: v for k, v in resource.items() if v is not None}


def bundle(kind, *resources):
    entries = [{"fullUrl": "urn:uuid:p1", "resource": PATIENT}]
    entries += [{"fullUrl": f"urn:uuid:r{n}", "resource": r} for n, r in enumerate(resources)]
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}).encode()


def parse(body, content_type="application/fhir+json"):
    result = parse_fhir(body, content_type=content_type, received_at=RECEIVED)
    validate_resource(result.outcome)
    return result


def only_error(result):
    [error] = [issue.as_fhir() for issue in result.issues if issue.is_error]
    return error


def test_transaction_with_an_observation_missing_its_status_is_rejected_naming_entry_and_element():
    result = parse(bundle("transaction", observation(id="ok"), observation(status=None)))

    assert result.rejected
    assert result.records == []
    error = only_error(result)
    assert error["code"] == "required"
    assert error["expression"] == ["Bundle.entry[2].resource.ofType(Observation).status"]
    assert error["diagnostics"].startswith("entry 2: Observation.status:")


def test_batch_with_an_invalid_observation_keeps_the_valid_ones():
    result = parse(bundle("batch", observation(id="ok"), observation(status=None)))

    assert not result.rejected
    [record] = result.records
    assert [item.business_key for item in record.items] == ["Observation/ok"]
    assert only_error(result)["expression"] == ["Bundle.entry[2].resource.ofType(Observation).status"]


def test_truncated_json_is_refused():
    body = (
        FIXTURES / "uk-core/eps/primary-care-acute-nominated-1-Process-Request-Send-200_OK.json"
    ).read_bytes()

    result = parse(body[: len(body) // 2])

    assert result.rejected
    error = only_error(result)
    assert error["code"] == "structure"
    assert "not valid JSON" in error["diagnostics"]
    assert "truncated" in error["diagnostics"]


@pytest.mark.parametrize(
    "body", [b"", b"hello", b"[1, 2]", b'{"resourceType": "Patient"', b"\xff\xfe{}", b"{}"]
)
def test_a_body_that_is_not_a_json_resource_is_refused(body):
    result = parse(body)

    assert result.rejected
    assert only_error(result)["code"] in ("structure", "required")


def test_unknown_resource_type_is_refused():
    result = parse(b'{"resourceType": "Patientt", "id": "x"}')

    assert result.rejected
    error = only_error(result)
    assert error["code"] == "not-supported"
    assert "'Patientt' is not a FHIR R4 resource type" in error["diagnostics"]


def test_entry_with_unknown_resource_type_names_the_entry():
    body = bundle("collection", {"resourceType": "Observashun", "status": "final"})

    error = only_error(parse(body))

    assert error["expression"] == ["Bundle.entry[1].resource.ofType(Resource).resourceType"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/pdf", "application/fhir+json; fhirVersion=5.0"]
)
def test_unaccepted_content_type_is_refused(content_type):
    result = parse(bundle("collection"), content_type=content_type)

    assert result.rejected
    assert only_error(result)["code"] == "not-supported"


def test_history_bundles_are_not_accepted():
    error = only_error(parse(bundle("history")))

    assert error["expression"] == ["Bundle.type"]
    assert error["code"] == "not-supported"


def test_json_content_type_with_charset_and_r4_version_is_accepted():
    result = parse(
        bundle("collection", observation()),
        content_type="application/fhir+json; charset=utf-8; fhirVersion=4.0",
    )

    assert not result.rejected
    assert len(result.records[0].items) == 1


def test_transaction_with_an_unsupported_type_still_loads_with_a_warning():
    immunisation = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"text": "Influenza"},
        "patient": {"reference": "urn:uuid:p1"},
        "occurrenceDateTime": "2026-01-01",
    }

    result = parse(bundle("transaction", observation(), immunisation))

    assert not result.rejected
    [warning] = [i.as_fhir() for i in result.issues]
    assert warning["severity"] == "warning"
    assert warning["code"] == "not-supported"
    assert warning["expression"] == ["Bundle.entry[2].resource.ofType(Immunization)"]


def test_contained_resource_of_unknown_type_is_an_issue_not_an_exception():
    result = parse(bundle("collection", observation(contained=[{"resourceType": 5}])))

    assert "Observation" in only_error(result)["expression"][0]


class TestXml:
    def test_doctype_is_refused_before_any_entity_is_expanded(self):
        body = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Patient xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Patient>"""

        result = parse(body, content_type="application/fhir+xml")

        assert result.rejected
        error = only_error(result)
        assert error["code"] == "not-supported"
        assert "DOCTYPE" in error["diagnostics"]

    def test_external_entity_is_refused(self):
        body = b"""<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Patient xmlns="http://hl7.org/fhir"><id value="&xxe;"/></Patient>"""

        with pytest.raises(FhirInputError, match="DOCTYPE"):
            xml_to_json(body)

    def test_not_well_formed_xml_is_refused(self):
        result = parse(
            b"<Patient xmlns='http://hl7.org/fhir'><id value='x'></Patient>", "application/fhir+xml"
        )

        assert "not well-formed XML" in only_error(result)["diagnostics"]

    def test_element_outside_the_fhir_namespace_is_refused(self):
        with pytest.raises(FhirInputError, match="namespace"):
            xml_to_json(b"<Patient><id value='x'/></Patient>")

    def test_xml_follows_the_fhir_json_rules(self):
        body = b"""<Observation xmlns="http://hl7.org/fhir">
  <id value="o1"/>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Na <b>140</b></p></div></text>
  <contained><Patient><id value="p"/><active value="true"/></Patient></contained>
  <extension url="http://example.org/x"><valueDecimal value="1.50"/></extension>
  <status value="final">
    <extension url="http://example.org/why"><valueString value="checked"/></extension>
  </status>
  <category><coding><code value="laboratory"/></coding></category>
  <code><text value="Sodium"/></code>
  <subject><reference value="#p"/></subject>
  <valueQuantity><value value="140"/><unit value="mmol/L"/></valueQuantity>
  <referenceRange><low><value value="133"/></low></referenceRange>
  <component><code><text value="a"/></code><valueBoolean value="false"/></component>
</Observation>"""

        resource = xml_to_json(body)

        validate_resource(resource)
        assert (
            resource["text"]["div"] == '<div xmlns="http://www.w3.org/1999/xhtml"><p>Na <b>140</b></p></div>'
        )
        assert resource["contained"] == [{"resourceType": "Patient", "id": "p", "active": True}]
        assert resource["extension"] == [{"url": "http://example.org/x", "valueDecimal": 1.5}]
        assert resource["status"] == "final"
        assert resource["_status"] == {
            "extension": [{"url": "http://example.org/why", "valueString": "checked"}]
        }
        assert resource["category"] == [{"coding": [{"code": "laboratory"}]}]
        assert resource["valueQuantity"] == {"value": 140, "unit": "mmol/L"}
        assert resource["referenceRange"] == [{"low": {"value": 133}}]
        assert resource["component"][0]["valueBoolean"] is False

    def test_repeating_primitive_with_an_extension_on_one_repeat(self):
        body = b"""<Patient xmlns="http://hl7.org/fhir"><name><given value="Ann"/>
<given><extension url="http://example.org/q"><valueCode value="x"/></extension></given></name></Patient>"""

        name = xml_to_json(body)["name"][0]

        assert name["given"] == ["Ann", None]
        assert name["_given"] == [None, {"extension": [{"url": "http://example.org/q", "valueCode": "x"}]}]

    def test_element_given_twice_that_may_occur_once_is_refused(self):
        with pytest.raises(FhirInputError, match="more than once"):
            xml_to_json(
                b"<Patient xmlns='http://hl7.org/fhir'>"
                b"<gender value='male'/><gender value='female'/></Patient>"
            )

    def test_unknown_element_is_named_by_validation(self):
        result = parse(
            b"<Patient xmlns='http://hl7.org/fhir'><colour value='blue'/></Patient>", "application/fhir+xml"
        )

        assert result.rejected
        assert ["Patient.colour"] in [issue.as_fhir().get("expression") for issue in result.issues]


def test_reader_answers_once_however_often_asked():
    reader = FhirReader(b"nonsense", content_type="application/fhir+json", received_at=RECEIVED)

    assert list(reader.records()) == []
    assert reader.rejected
    assert reader.outcome() == reader.outcome()
    assert len(reader.issues) == 1
