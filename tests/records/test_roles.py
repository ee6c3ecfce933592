import pytest

from records.models import EntryCategory, Role
from records.roles import ROLE_CATALOGUE, role_catalogue_sync

pytestmark = pytest.mark.django_db


def role(code: str) -> Role:
    return Role.objects.get(code=code)


class TestRoleCatalogueSync:
    def test_creates_one_role_per_catalogue_row(self):
        role_catalogue_sync()
        assert set(Role.objects.values_list("code", flat=True)) == {spec.code for spec in ROLE_CATALOGUE}

    def test_clinicians_see_every_category(self):
        role_catalogue_sync()
        for code in ("gp", "hospital-consultant", "nurse", "mental-health-practitioner"):
            assert set(role(code).categories) == set(EntryCategory.values)
            assert role(code).is_clinical

    def test_administrators_see_demographics_appointments_and_encounters_only(self):
        role_catalogue_sync()
        for code in ("practice-administrator", "hospital-administrator"):
            assert set(role(code).categories) == {EntryCategory.APPOINTMENT, EntryCategory.ENCOUNTER}
            assert role(code).sees_demographics
            assert not role(code).is_clinical

    def test_paramedics_see_what_is_safe_to_treat_and_whom_to_call(self):
        role_catalogue_sync()
        assert set(role("paramedic").categories) == {
            EntryCategory.ALLERGY,
            EntryCategory.MEDICATION,
            EntryCategory.PROBLEM,
            EntryCategory.ALERT,
            EntryCategory.RELATED_PERSON,
            EntryCategory.CARE_PLAN,
            EntryCategory.ENCOUNTER,
        }
        assert role("paramedic").job_role_code == "R1070"

    def test_social_workers_see_care_plans_and_the_clinical_summary_but_not_results(self):
        role_catalogue_sync()
        categories = set(role("social-worker").categories)
        assert {EntryCategory.CARE_PLAN, EntryCategory.PROBLEM, EntryCategory.MEDICATION} <= categories
        assert not categories & {EntryCategory.LAB_RESULT, EntryCategory.DOCUMENT, EntryCategory.ENCOUNTER}

    def test_privacy_officer_and_system_administrator_see_no_record(self):
        role_catalogue_sync()
        for code in ("privacy-officer", "system-administrator"):
            assert role(code).categories == []
            assert not role(code).sees_demographics
        assert role("privacy-officer").job_role_code == "R0001"

    def test_a_second_sync_writes_nothing(self, django_assert_max_num_queries):
        role_catalogue_sync()
        with django_assert_max_num_queries(3) as queries:  # the read, inside a savepoint
            role_catalogue_sync()
        assert not [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]

    def test_keeps_categories_edited_in_admin_unless_reset(self):
        role_catalogue_sync()
        Role.objects.filter(code="paramedic").update(categories=[EntryCategory.LAB_RESULT])
        local = Role.objects.create(code="pharmacist", name="Pharmacist", job_role_code="R1290")
        role_catalogue_sync()
        assert role("paramedic").categories == [EntryCategory.LAB_RESULT]
        role_catalogue_sync(reset=True)
        assert EntryCategory.LAB_RESULT not in role("paramedic").categories
        assert Role.objects.get(pk=local.pk).name == "Pharmacist"

    def test_only_safeguarding_roles_see_safeguarding_and_only_clinicians_break_glass(self):
        role_catalogue_sync()
        safeguarding = set(Role.objects.filter(sees_safeguarding=True).values_list("code", flat=True))
        assert safeguarding == {"safeguarding-officer", "social-worker"}
        assert role("paramedic").may_break_glass
        assert role("gp").may_break_glass
        assert not role("practice-administrator").may_break_glass
        assert not role("privacy-officer").reads_records
        assert not role("system-administrator").reads_records
        assert role("gp").reads_records
