import pytest

from ingestion.models import InboundMessage
from ingestion.services.apply import message_process
from ingestion.services.ledger import message_receive
from records.models import Entry, Person
from tests.corpus import fixtures_dir

pytestmark = pytest.mark.django_db


def test_a_synthea_bundle_is_stored_once(fhir_source):
    path = fixtures_dir() / "fhir-r4/synthea/inferno-uscore/uscore_bundle_patient_85.json"
    message = message_receive(
        channel="file",
        payload=path.read_bytes(),
        format="fhir-json",
        source_system=fhir_source,
        enqueue=False,
    )
    message = message_process(message.pk)
    assert message.status == InboundMessage.Status.APPLIED
    assert Person.objects.count() == 1
    assert Entry.objects.count() == message.outcome["entries"]["created"]
