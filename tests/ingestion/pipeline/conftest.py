import pytest

from records.models import Organisation, SourceSystem
from tests.records.factories import OrganisationFactory, SourceSystemFactory

COUNCIL_SYSTEM = "https://fhir.dorsetcouncil.example/Id/person-id"


@pytest.fixture
def hospital(db) -> Organisation:
    return OrganisationFactory(ods_code="RBD", name="Dorset County Hospital NHS Foundation Trust")


@pytest.fixture
def fhir_source(hospital) -> SourceSystem:
    return SourceSystemFactory(
        organisation=hospital, code="rbd-fhir", kind=SourceSystem.Kind.FHIR, local_identifier_system=""
    )


@pytest.fixture
def hl7_source(hospital) -> SourceSystem:
    return SourceSystemFactory(
        organisation=hospital,
        code="rbd-pas",
        kind=SourceSystem.Kind.HL7V2,
        hl7_sending_application="PAS",
        hl7_sending_facility="RBD",
        local_identifier_system="",
    )


@pytest.fixture
def council_source(db) -> SourceSystem:
    council = OrganisationFactory(
        ods_code="DC001", name="Dorset Council", kind=Organisation.Kind.COUNCIL_SOCIAL_CARE
    )
    return SourceSystemFactory(
        organisation=council,
        code="dorset-asc",
        kind=SourceSystem.Kind.CSV,
        local_identifier_system=COUNCIL_SYSTEM,
    )


@pytest.fixture(autouse=True)
def _fresh_sender_cache():
    """The ledger keeps HL7 senders in memory for a few seconds; each test has its own database state."""
    from ingestion.services import ledger

    ledger.sources.clear()
    yield
    ledger.sources.clear()
