"""Whatever arrives, the FHIR reader answers with an OperationOutcome and never raises."""

import contextlib
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingestion.fhir import FhirReader
from ingestion.fhir.outcome import FhirInputError
from ingestion.fhir.xml import xml_to_json
from records.fhir import validate_resource
from tests.ingestion import FIXTURES, RECEIVED, assert_valid_records

SEED = json.loads(
    (FIXTURES / "uk-core/eps/primary-care-acute-nominated-1-Process-Request-Send-200_OK.json").read_text()
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/fhir+json",
        "application/fhir+xml",
        "application/fhir+ndjson",
        "",
        "application/octet-stream",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(body, content_type):
    reader = FhirReader(body, content_type=content_type, received_at=RECEIVED)
    records = list(reader.records())
    validate_resource(reader.outcome())
    if reader.rejected:
        assert records == []
    else:
        assert_valid_records(records)
    return reader


@FAST
@given(body=st.binary(max_size=400), content_type=CONTENT_TYPES)
def test_random_bytes_give_an_outcome(body, content_type):
    read(body, content_type)


@FAST
@given(body=st.text(max_size=300).map(lambda text: "<" + text), content_type=st.just("application/fhir+xml"))
def test_random_markup_gives_an_outcome(body, content_type):
    read(body, content_type)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


SEED_PATHS = [path for path in _paths(SEED) if path]


def _mutated(path, value, delete):
    body = json.loads(json.dumps(SEED))
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


@FAST
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(SEED_PATHS), JSON_VALUES, st.booleans()), min_size=1, max_size=4
    )
)
# Found by this test in CI: a number where a resource's identifier list belongs broke the bundle index.
@example(mutations=[(("entry", 1, "resource", "identifier"), 1, False)])
def test_mutated_prescription_bundle_gives_an_outcome(mutations):
    body = SEED
    for path, value, delete in mutations:
        try:
            body = _mutated(path, value, delete) if body is SEED else _apply(body, path, value, delete)
        except (KeyError, IndexError, TypeError):
            continue
    read(json.dumps(body).encode(), "application/fhir+json")


def _apply(body, path, value, delete):
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


@FAST
@given(cut=st.integers(min_value=0, max_value=len(json.dumps(SEED))), junk=st.binary(max_size=8))
def test_cut_or_spliced_bundle_gives_an_outcome(cut, junk):
    text = json.dumps(SEED).encode()
    read(text[:cut] + junk + text[cut + len(junk) :], "application/fhir+json")


@FAST
@given(body=st.binary(max_size=200))
def test_xml_converter_raises_only_its_own_error(body):
    with contextlib.suppress(FhirInputError):
        xml_to_json(b"<Patient xmlns='http://hl7.org/fhir'>" + body + b"</Patient>")
