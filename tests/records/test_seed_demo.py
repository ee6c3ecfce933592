import base64
import re
from datetime import date, timedelta
from io import StringIO

import nhs_number
import pytest
from django.core.management import call_command
from django.db.models import Max, Sum
from django.urls import reverse

from records.access import Actor, access_basis
from records.demo.codes import CARE_PACKAGES
from records.demo.users import DEMO_PASSWORD, DEMO_USERS
from records.models import (
    Entry,
    EntryCategory,
    LocalIdentifier,
    Membership,
    Organisation,
    Person,
    SourceSystem,
    User,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 22)
PEOPLE = 40  # with the default seed, enough people for every category of the record


def seed_demo(people: int = PEOPLE, **options) -> str:
    out = StringIO()
    options = {"as_of": AS_OF, "workers": 1, "batch": 15, "verbosity": 0, **options}
    call_command("seed_demo", people=people, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def demo():
    return seed_demo()


def snapshot() -> dict:
    entries = Entry.objects.aggregate(versions=Sum("version"), updated=Max("updated_at"))
    return {
        "people": list(Person.objects.order_by("pk").values_list("pk", "nhs_number", "updated_at")),
        "entries": Entry.objects.count(),
        "versions": entries["versions"],
        "entries_updated": entries["updated"],
        "organisations": list(Organisation.objects.order_by("pk").values_list("pk", "updated_at")),
        "sources": SourceSystem.objects.count(),
        "identifiers": LocalIdentifier.objects.count(),
        "users": list(User.objects.order_by("pk").values_list("pk", "password", "is_active")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "team")),
    }


class TestPopulation:
    def test_every_person_has_a_valid_test_nhs_number(self, demo):
        numbers = list(Person.objects.values_list("nhs_number", flat=True))
        assert len(numbers) == PEOPLE
        assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)

    def test_every_person_lives_in_dorset_and_is_registered_with_a_practice(self, demo):
        for person in Person.objects.select_related("registered_practice"):
            address = person.current_address
            assert re.fullmatch(r"(DT\d{1,2}|BH\d{1,2}|SP[78]) \d[A-Z]{2}", address.postcode), (
                address.postcode
            )
            assert address.town
            assert address.lines
            assert person.registered_practice.kind == Organisation.Kind.GP_PRACTICE
            assert person.registered_gp_code.startswith("G")

    def test_records_cover_every_category(self, demo):
        assert set(Entry.objects.values_list("category", flat=True)) == set(EntryCategory.values)

    def test_entries_come_from_the_system_that_would_hold_them(self, demo):
        kinds = {
            EntryCategory.PROBLEM: {Organisation.Kind.GP_PRACTICE},
            EntryCategory.LAB_RESULT: {Organisation.Kind.ACUTE_TRUST, Organisation.Kind.OUT_OF_AREA_HOSPITAL},
            EntryCategory.IMAGING_REPORT: {
                Organisation.Kind.ACUTE_TRUST,
                Organisation.Kind.OUT_OF_AREA_HOSPITAL,
            },
        }
        for category, allowed in kinds.items():
            found = set(
                Entry.objects.filter(category=category).values_list("source_organisation__kind", flat=True)
            )
            assert found, category
            assert found <= allowed, category
        social_care = Entry.objects.filter(category=EntryCategory.CARE_PLAN, subtype__in=CARE_PACKAGES)
        assert social_care.exists()
        assert set(social_care.values_list("source_organisation__kind", flat=True)) == {
            Organisation.Kind.COUNCIL_SOCIAL_CARE
        }

    def test_every_resource_names_its_person_by_nhs_number(self, demo):
        for entry in Entry.objects.select_related("person"):
            resource = entry.resource
            if resource["resourceType"] == "Appointment":
                reference = next(
                    p["actor"] for p in resource["participant"] if p["actor"].get("type") == "Patient"
                )
            else:
                reference = resource.get("subject") or resource["patient"]
            assert reference["identifier"] == {
                "system": "https://fhir.nhs.uk/Id/nhs-number",
                "value": entry.person.nhs_number,
            }

    def test_lab_results_hang_under_their_report(self, demo):
        results = Entry.objects.filter(category=EntryCategory.LAB_RESULT).select_related("parent")
        assert results.exists()
        for result in results:
            assert result.parent.category == EntryCategory.LAB_REPORT
            assert result.parent.person_id == result.person_id
        assert not Entry.objects.filter(category=EntryCategory.LAB_REPORT, children__isnull=True).exists()

    def test_active_care_packages_have_a_review_date(self, demo):
        active = Entry.objects.filter(
            category=EntryCategory.CARE_PLAN, subtype__in=CARE_PACKAGES, status="active"
        )
        assert active.exists()
        assert not active.filter(review_due_on__isnull=True).exists()

    def test_discharge_letters_are_readable_text(self, demo):
        letter = Entry.objects.filter(category=EntryCategory.DOCUMENT, subtype="discharge-letter").first()
        attachment = letter.resource["content"][0]["attachment"]
        text = base64.b64decode(attachment["data"]).decode()
        assert attachment["contentType"] == "text/plain"
        assert "DISCHARGE SUMMARY" in text
        assert letter.person.nhs_number_display in text

    def test_people_seen_in_hospital_have_a_hospital_number(self, demo):
        seen = Person.objects.filter(entries__source_system__code__endswith="-pas").distinct()
        assert seen.exists()
        for person in seen:
            trusts = set(
                person.entries.filter(source_system__code__endswith="-pas").values_list(
                    "source_organisation__ods_code", flat=True
                )
            )
            numbers = set(person.local_identifiers.filter(type_code="MR").values_list("system", flat=True))
            assert trusts <= numbers

    def test_every_organisation_shares_data_through_live_systems(self, demo):
        organisations = Organisation.objects.all()
        assert organisations.filter(kind=Organisation.Kind.GP_PRACTICE).count() >= 80
        for organisation in organisations:
            assert organisation.is_sharing_on(AS_OF)
            assert organisation.data_controller_email
            assert organisation.source_systems.filter(mode=SourceSystem.Mode.LIVE).exists()

    def test_summary_reports_people_entries_and_demo_users(self, demo):
        assert f"People: {PEOPLE} in the record ({PEOPLE} added" in demo
        for category in EntryCategory.values:
            assert category in demo
        for user in DEMO_USERS:
            assert user.email in demo
        assert DEMO_PASSWORD in demo


class TestRerun:
    def test_running_again_changes_nothing(self, demo):
        before = snapshot()
        output = seed_demo()
        assert snapshot() == before
        assert "(0 added, 0 updated by this run)" in output

    def test_a_larger_population_only_adds_people(self):
        seed_demo(people=25)
        before = {
            nhs: (pk, updated)
            for pk, nhs, updated in Person.objects.values_list("pk", "nhs_number", "updated_at")
        }
        entries_before = dict(Entry.objects.values_list("pk", "version"))
        seed_demo(people=PEOPLE)
        after = {
            nhs: (pk, updated)
            for pk, nhs, updated in Person.objects.values_list("pk", "nhs_number", "updated_at")
        }
        assert len(after) == PEOPLE
        assert {nhs: after[nhs] for nhs in before} == before
        assert {
            pk: version for pk, version in Entry.objects.values_list("pk", "version") if pk in entries_before
        } == (entries_before)

    def test_a_week_later_the_same_people_have_the_same_histories_a_week_on(self, demo):
        entries = dict(Entry.objects.values_list("business_key", "occurred_at"))
        people = dict(Person.objects.values_list("nhs_number", "date_of_birth"))
        week = timedelta(days=7)
        seed_demo(as_of=AS_OF + week)
        assert dict(Person.objects.values_list("nhs_number", "date_of_birth")) == {
            nhs: born + week for nhs, born in people.items()
        }
        moved = dict(Entry.objects.values_list("business_key", "occurred_at"))
        assert moved.keys() == entries.keys()
        assert sum(moved[key] - entries[key] == week for key in entries) > 0.95 * len(entries)
        assert set(Entry.objects.values_list("version", flat=True)) == {2}


class TestDemoUsers:
    def test_each_demo_user_can_sign_in_with_the_printed_password(self, demo, client):
        for user in DEMO_USERS:
            assert client.login(email=user.email, password=DEMO_PASSWORD), user.email
            client.logout()

    def test_each_demo_user_acts_in_a_fitting_organisation(self, demo):
        def membership(role):
            return Membership.objects.select_related("organisation", "role").get(
                user__email=f"{role}@demo.dcr.local"
            )

        assert membership("gp").organisation.kind == Organisation.Kind.GP_PRACTICE
        assert membership("gp").role.job_role_code == "R0260"
        assert membership("hospital-consultant").organisation.ods_code == "RBD"
        assert membership("paramedic").organisation.ods_code == "RYF"
        social_worker = membership("social-worker")
        assert social_worker.organisation.kind == Organisation.Kind.COUNCIL_SOCIAL_CARE
        assert social_worker.team
        assert Membership.objects.filter(user__email__endswith="@demo.dcr.local").count() == len(DEMO_USERS)

    def test_social_care_plans_give_the_team_holding_the_case_a_relationship(self, demo):
        social_worker = Membership.objects.select_related("role").get(
            user__email="social-worker@demo.dcr.local"
        )
        plans = Entry.objects.filter(category=EntryCategory.CARE_PLAN, subtype__in=CARE_PACKAGES)
        assert plans.exists()
        for plan in plans.select_related("person", "source_organisation"):
            assert plan.allocated_team.endswith("adult social care locality team")
            user = User.objects.create_user(username=f"sw{plan.pk}", email=f"sw{plan.pk}@example.org")
            membership = Membership.objects.create(
                user=user,
                organisation=plan.source_organisation,
                role=social_worker.role,
                team=plan.allocated_team,
            )
            actor = Actor(user=user, membership=membership)
            assert access_basis(actor=actor, person=plan.person) is not None

    def test_only_the_privacy_officer_and_system_administrator_use_django_admin(self, demo):
        staff = set(User.objects.filter(is_staff=True).values_list("email", flat=True))
        assert staff == {"privacy-officer@demo.dcr.local", "system-administrator@demo.dcr.local"}
        assert list(User.objects.filter(is_superuser=True).values_list("email", flat=True)) == [
            "system-administrator@demo.dcr.local"
        ]

    def test_a_forgotten_password_is_reset_by_the_next_run(self, demo, client):
        user = User.objects.get(email="gp@demo.dcr.local")
        user.set_password("something else entirely")
        user.save()
        seed_demo()
        assert client.login(email="gp@demo.dcr.local", password=DEMO_PASSWORD)

    def test_every_person_can_be_browsed_in_django_admin(self, demo, client):
        client.login(email="system-administrator@demo.dcr.local", password=DEMO_PASSWORD)
        changelist = client.get(reverse("admin:records_person_changelist"))
        assert changelist.status_code == 200
        for person in Person.objects.all():
            page = client.get(reverse("admin:records_person_change", args=[person.pk]))
            assert page.status_code == 200
            assert person.nhs_number.encode() in page.content
        entry = Entry.objects.filter(category=EntryCategory.LAB_RESULT).first()
        assert client.get(reverse("admin:records_entry_change", args=[entry.pk])).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_worker_processes_build_the_same_population_as_one_process():
    seed_demo(people=12, workers=1)
    one_process = sorted(
        Entry.objects.values_list("person__nhs_number", "source_system__code", "business_key", "resource")
    )
    Entry.objects.all().delete()
    Person.objects.all().delete()
    seed_demo(people=12, workers=2, batch=3)
    two_processes = sorted(
        Entry.objects.values_list("person__nhs_number", "source_system__code", "business_key", "resource")
    )
    assert two_processes == one_process
