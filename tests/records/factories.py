from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from records.models import (
    Entry,
    EntryCategory,
    LocalIdentifier,
    Membership,
    Organisation,
    Person,
    PersonAddress,
    Role,
    SourceSystem,
    User,
)


def synthetic_nhs_number(n: int) -> str:
    """Checksum-valid, 999-prefixed test number; unique per n."""
    for last in "0123456789":
        stem = f"999{n % 100000:05d}{last}"
        check = (11 - sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True)) % 11) % 11
        if check != 10:
            return f"{stem}{check}"
    raise AssertionError("unreachable")


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["ods_code"]

    ods_code = factory.Sequence(lambda n: f"R{n:04d}"[:5])
    name = factory.Sequence(lambda n: f"Test Hospital {n} NHS Foundation Trust")
    kind = Organisation.Kind.ACUTE_TRUST
    sharing_agreement_from = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    data_controller_email = "ig@example.nhs.uk"


class GpPracticeFactory(OrganisationFactory):
    ods_code = factory.Sequence(lambda n: f"J{81000 + n % 1000:05d}")
    name = factory.Sequence(lambda n: f"Test Surgery {n}")
    kind = Organisation.Kind.GP_PRACTICE


class SourceSystemFactory(DjangoModelFactory):
    class Meta:
        model = SourceSystem

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"source-{n}")
    name = factory.Sequence(lambda n: f"Patient administration system {n}")
    kind = SourceSystem.Kind.HL7V2
    mode = SourceSystem.Mode.LIVE
    local_identifier_system = factory.LazyAttribute(lambda o: o.organisation.ods_code)


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person

    nhs_number = factory.Sequence(synthetic_nhs_number)
    given_names = factory.Faker("first_name", locale="en_GB")
    family_name = factory.Faker("last_name", locale="en_GB")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=1, maximum_age=95)
    gender = factory.Iterator([Person.Gender.FEMALE, Person.Gender.MALE])


class PersonAddressFactory(DjangoModelFactory):
    class Meta:
        model = PersonAddress

    person = factory.SubFactory(PersonFactory)
    lines = factory.Faker("street_address", locale="en_GB")
    town = "Dorchester"
    postcode = factory.Faker("postcode", locale="en_GB")
    period_start = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=400))


class LocalIdentifierFactory(DjangoModelFactory):
    class Meta:
        model = LocalIdentifier

    person = factory.SubFactory(PersonFactory)
    system = "RBD"
    value = factory.Sequence(lambda n: f"MRN{n:07d}")
    type_code = "MR"


class EntryFactory(DjangoModelFactory):
    class Meta:
        model = Entry

    person = factory.SubFactory(PersonFactory)
    source_system = factory.SubFactory(SourceSystemFactory)
    source_organisation = factory.SelfAttribute("source_system.organisation")
    category = EntryCategory.PROBLEM
    resource_type = "Condition"
    code_system = "http://snomed.info/sct"
    code = "44054006"
    code_display = "Diabetes mellitus type 2"
    summary = factory.SelfAttribute("code_display")
    status = "active"
    business_key = factory.Sequence(lambda n: f"condition-{n}")
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    source_updated_at = factory.LazyFunction(timezone.now)
    resource = factory.LazyAttribute(
        lambda o: {
            "resourceType": "Condition",
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": o.status}
                ]
            },
            "code": {"coding": [{"system": o.code_system, "code": o.code, "display": o.code_display}]},
            "subject": {
                "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": o.person.nhs_number}
            },
        }
    )


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role
        django_get_or_create = ["code"]

    code = "gp"
    name = "GP"
    job_role_code = "R0260"
    categories = factory.LazyFunction(lambda: [c.value for c in EntryCategory])
    is_clinical = True


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.nhs.uk")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(GpPracticeFactory)
    role = factory.SubFactory(RoleFactory)
