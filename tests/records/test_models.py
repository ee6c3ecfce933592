from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from records import nhs_numbers
from records.fhir import InvalidFhirResource, validate_resource
from records.models import Organisation
from tests.records.factories import (
    EntryFactory,
    LocalIdentifierFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonAddressFactory,
    PersonFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("9434765919", True),
        ("943 476 5919", True),
        ("9990000018", True),
        ("9434765918", False),
        ("943476591", False),
        ("", False),
        (None, False),
        ("abcdefghij", False),
    ],
)
def test_nhs_number_check_digit(value, valid):
    assert nhs_numbers.is_valid(value) is valid


def test_a_person_with_a_wrong_check_digit_fails_validation():
    person = PersonFactory.build(nhs_number="9434765918")
    with pytest.raises(ValidationError, match="not a valid NHS number"):
        person.full_clean(exclude=["registered_practice"])


def test_two_people_cannot_share_an_nhs_number():
    PersonFactory(nhs_number="9990000018")
    with pytest.raises(IntegrityError):
        PersonFactory(nhs_number="9990000018")


def test_the_database_refuses_an_nhs_number_that_is_not_ten_digits():
    with pytest.raises(IntegrityError):
        PersonFactory(nhs_number="99900")


def test_a_local_identifier_is_unique_within_its_system():
    LocalIdentifierFactory(system="RBD", value="M123")
    LocalIdentifierFactory(system="R0D", value="M123")
    with pytest.raises(IntegrityError):
        LocalIdentifierFactory(system="RBD", value="M123")


def test_age_counts_whole_years_and_stops_at_death():
    person = PersonFactory.build(date_of_birth=date(1940, 6, 15), date_of_death=date(2020, 6, 14))
    assert person.age_on() == 79
    assert PersonFactory.build(date_of_birth=date(2000, 1, 1)).age_on(date(2026, 1, 1)) == 26


def test_display_name_follows_nhs_convention():
    person = PersonFactory.build(family_name="Smith", given_names="Jane Anne", title="Mrs")
    assert person.display_name == "SMITH, Jane Anne (Mrs)"


def test_current_address_is_the_open_home_address():
    person = PersonFactory()
    PersonAddressFactory(person=person, lines="Old", period_end=date(2020, 1, 1))
    current = PersonAddressFactory(person=person, lines="New")
    assert person.current_address == current


class TestSharingAgreement:
    def test_an_agreement_in_force_today(self):
        org = OrganisationFactory()
        assert org.is_sharing_on(date.today())
        assert Organisation.objects.sharing_on(date.today()).filter(pk=org.pk).exists()

    def test_an_ended_agreement_stops_sharing_and_a_future_one_has_not_started(self):
        today = date.today()
        ended = OrganisationFactory(
            sharing_agreement_from=today - timedelta(days=30), sharing_agreement_to=today - timedelta(days=1)
        )
        future = OrganisationFactory(sharing_agreement_from=today + timedelta(days=1))
        none = OrganisationFactory(sharing_agreement_from=None)
        assert (
            not Organisation.objects.sharing_on(today).filter(pk__in=[ended.pk, future.pk, none.pk]).exists()
        )

    def test_an_agreement_cannot_end_before_it_starts(self):
        with pytest.raises(IntegrityError):
            OrganisationFactory(
                sharing_agreement_from=date(2025, 1, 1), sharing_agreement_to=date(2024, 1, 1)
            )


class TestSourceSystemToken:
    def test_only_the_hash_is_kept_and_the_token_matches_until_revoked(self):
        source = SourceSystemFactory()
        token = source.issue_token()
        source.save()
        assert token not in source.token_hash
        assert source.token_matches(token)
        assert not source.token_matches(token + "x")
        source.revoke_token()
        assert not source.token_matches(token)


def test_factories_build_valid_fhir_for_entries():
    entry = EntryFactory()
    validate_resource(entry.resource)
    assert entry.source_organisation == entry.source_system.organisation


def test_membership_factory_gives_a_user_a_role_at_an_organisation():
    membership = MembershipFactory()
    assert membership.user.memberships.get().role.job_role_code == "R0260"


def test_validation_names_the_element_at_fault():
    with pytest.raises(InvalidFhirResource) as error:
        validate_resource({"resourceType": "Observation", "code": {"text": "HbA1c"}})
    assert [issue.location for issue in error.value.issues] == ["Observation.status"]


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "NotAThing"},
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "contained": [{"resourceType": "NotAThing", "id": "a"}],
        },
    ],
)
def test_validation_refuses_unknown_types_with_an_issue_not_a_crash(resource):
    with pytest.raises(InvalidFhirResource):
        validate_resource(resource)
