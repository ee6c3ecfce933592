"""The access rules: who may open which person, and which entries they then see."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.models import AccessEvent, PrivacyAlert
from records.access import (
    AccessRefused,
    Actor,
    Basis,
    PersonNotFound,
    access_basis,
    break_glass_grant,
    care_relationship_end,
    care_relationship_grant,
    entry_list_visible_to,
    person_list_visible_to,
    person_open,
    restricted_information_exists,
    self_claim_grant,
)
from records.models import AccessGrant, SourceSystem
from tests.records.access_factories import (
    ADMIN,
    CLINICAL,
    EntryCategory,
    GpPracticeFactory,
    PersonFactory,
    Sensitivity,
    actor_at,
    entry,
    role,
)
from tests.records.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def visible(actor):
    return set(person_list_visible_to(actor=actor))


class TestCareRelationship:
    def test_a_gp_sees_people_registered_at_their_practice_only(self):
        practice, other = GpPracticeFactory(), GpPracticeFactory()
        mine, theirs = PersonFactory(registered_practice=practice), PersonFactory(registered_practice=other)
        gp = actor_at(practice, role_=role("gp"))

        assert visible(gp) == {mine}
        assert access_basis(actor=gp, person=mine) is Basis.REGISTERED
        assert access_basis(actor=gp, person=theirs) is None

    @pytest.mark.parametrize(
        "category", [EntryCategory.ENCOUNTER, EntryCategory.APPOINTMENT, EntryCategory.REFERRAL]
    )
    def test_recent_contact_at_the_users_organisation_is_a_relationship(self, category):
        hospital = OrganisationFactory()
        person = PersonFactory()
        entry(person, hospital, category=category, days_ago=30)

        assert visible(actor_at(hospital)) == {person}
        assert visible(actor_at(OrganisationFactory())) == set()

    def test_a_booked_appointment_ahead_counts_but_contact_long_ago_does_not(self, settings):
        settings.DCR_CARE_RELATIONSHIP_DAYS = 365
        hospital = OrganisationFactory()
        upcoming, long_ago = PersonFactory(), PersonFactory()
        entry(upcoming, hospital, category=EntryCategory.APPOINTMENT, days_ago=-14)
        entry(long_ago, hospital, category=EntryCategory.ENCOUNTER, days_ago=800)

        assert visible(actor_at(hospital)) == {upcoming}

    def test_a_problem_recorded_by_the_organisation_is_not_itself_a_relationship(self):
        hospital = OrganisationFactory()
        entry(PersonFactory(), hospital, category=EntryCategory.PROBLEM)

        assert visible(actor_at(hospital)) == set()

    def test_contact_from_a_source_still_in_test_mode_is_not_a_relationship(self):
        hospital = OrganisationFactory()
        person = PersonFactory()
        entry(
            person,
            hospital,
            category=EntryCategory.ENCOUNTER,
            source=SourceSystemFactoryInTestMode(organisation=hospital),
        )

        assert visible(actor_at(hospital)) == set()

    def test_a_social_worker_sees_people_allocated_to_their_team(self):
        council = OrganisationFactory(kind="council_social_care")
        allocated, other_team = PersonFactory(), PersonFactory()
        entry(allocated, council, category=EntryCategory.CARE_PLAN, allocated_team="Weymouth Adult Team")
        entry(other_team, council, category=EntryCategory.CARE_PLAN, allocated_team="Poole Adult Team")
        worker = actor_at(council, role_=role("social-worker"), team="Weymouth Adult Team")

        assert visible(worker) == {allocated}
        assert access_basis(actor=worker, person=allocated) is Basis.ALLOCATED_TEAM

    def test_an_explicit_grant_works_until_it_expires_or_ends(self):
        person = PersonFactory()
        actor = actor_at()
        grant = care_relationship_grant(
            person=person,
            user=actor.user,
            granted_by=None,
            expires_at=timezone.now() + timedelta(days=1),
            reason="MDT review",
        )
        assert access_basis(actor=actor, person=person) is Basis.GRANTED

        grant.expires_at = timezone.now() - timedelta(minutes=1)
        grant.save()
        assert visible(actor) == set()

        care_relationship_grant(person=person, user=actor.user, granted_by=None)
        assert visible(actor) == {person}
        care_relationship_end(person=person, user=actor.user)
        assert visible(actor) == set()

    def test_roles_that_work_only_in_admin_open_no_record_even_with_a_relationship(self):
        practice = GpPracticeFactory()
        PersonFactory(registered_practice=practice)
        officer = actor_at(practice, role_=role("privacy-officer", categories=[], reads_records=False))

        assert visible(officer) == set()

    def test_an_inactive_membership_opens_nothing(self):
        practice = GpPracticeFactory()
        PersonFactory(registered_practice=practice)
        actor = actor_at(practice, role_=role("gp"))
        actor.membership.is_active = False

        assert visible(actor) == set()


def SourceSystemFactoryInTestMode(**kwargs):
    from tests.records.factories import SourceSystemFactory

    return SourceSystemFactory(mode=SourceSystem.Mode.TEST, **kwargs)


class TestEntriesShown:
    """Role, category, sensitivity, sharing agreement and source organisation, in combination."""

    @pytest.fixture
    def setting(self):
        practice, hospital = GpPracticeFactory(), OrganisationFactory()
        person = PersonFactory(registered_practice=practice)
        return practice, hospital, person

    def test_an_administrator_sees_appointments_and_encounters_only(self, setting):
        practice, hospital, person = setting
        shown = [
            entry(person, hospital, category=c) for c in (EntryCategory.APPOINTMENT, EntryCategory.ENCOUNTER)
        ]
        entry(person, hospital, category=EntryCategory.MEDICATION)
        entry(person, hospital, category=EntryCategory.LAB_RESULT)
        admin = actor_at(practice, role_=role("practice-administrator", categories=ADMIN, is_clinical=False))

        assert set(entry_list_visible_to(actor=admin, person=person)) == set(shown)

    def test_a_clinician_sees_every_clinical_category(self, setting):
        practice, hospital, person = setting
        entries = {entry(person, hospital, category=c) for c in EntryCategory}
        gp = actor_at(practice, role_=role("gp", categories=CLINICAL))

        assert set(entry_list_visible_to(actor=gp, person=person)) == entries

    def test_data_from_an_organisation_without_an_agreement_in_force_is_hidden_until_it_is(self, setting):
        practice, hospital, person = setting
        item = entry(person, hospital)
        gp = actor_at(practice, role_=role("gp"))
        hospital.sharing_agreement_to = date.today() - timedelta(days=1)
        hospital.sharing_agreement_from = date.today() - timedelta(days=400)
        hospital.save()
        assert list(entry_list_visible_to(actor=gp, person=person)) == []

        hospital.sharing_agreement_to = None
        hospital.save()
        # An actor memoises lookups for one request; the next request sees the agreement back in force.
        gp = Actor(user=gp.user, membership=gp.membership)
        assert list(entry_list_visible_to(actor=gp, person=person)) == [item]

    @pytest.mark.parametrize(
        "sensitivity",
        [
            Sensitivity.SEXUAL_HEALTH,
            Sensitivity.FERTILITY,
            Sensitivity.TERMINATION,
            Sensitivity.GENDER_REASSIGNMENT,
            Sensitivity.RESTRICTED,
        ],
    )
    def test_sensitive_entries_are_shown_only_inside_the_source_organisation(self, setting, sensitivity):
        practice, hospital, person = setting
        item = entry(person, hospital, sensitivity=sensitivity)
        colleague_at_source = actor_at(hospital, role_=role("consultant"))
        entry(person, hospital, category=EntryCategory.ENCOUNTER)  # gives the hospital a relationship
        gp = actor_at(practice, role_=role("gp"))

        assert item not in entry_list_visible_to(actor=gp, person=person)
        assert item in entry_list_visible_to(actor=colleague_at_source, person=person)

    def test_a_code_on_the_sensitive_list_is_withheld_even_when_the_source_did_not_flag_it(self, setting):
        practice, hospital, person = setting
        item = entry(person, hospital, code="76272004", code_display="Syphilis")  # on the default list
        gp = actor_at(practice, role_=role("gp"))

        assert item.sensitivity == Sensitivity.NORMAL
        assert list(entry_list_visible_to(actor=gp, person=person)) == []

    def test_safeguarding_items_only_for_safeguarding_roles_and_others_know_something_is_restricted(
        self, setting
    ):
        practice, hospital, person = setting
        item = entry(person, hospital, category=EntryCategory.ALERT, sensitivity=Sensitivity.SAFEGUARDING)
        gp = actor_at(practice, role_=role("gp"))
        lead = actor_at(practice, role_=role("safeguarding-officer", sees_safeguarding=True))

        assert item not in entry_list_visible_to(actor=gp, person=person)
        assert restricted_information_exists(actor=gp, person=person)
        assert item in entry_list_visible_to(actor=lead, person=person)
        assert not restricted_information_exists(actor=lead, person=person)


class TestPersonOpen:
    def test_opening_writes_an_access_event_with_who_whom_and_basis(self):
        practice = GpPracticeFactory()
        person = PersonFactory(registered_practice=practice)
        gp = actor_at(practice, role_=role("gp"))

        opened = person_open(
            actor=gp, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD, detail={"page": "summary"}
        )

        event = AccessEvent.objects.get()
        assert opened.person == person
        assert (event.user, event.role_code, event.organisation_ods) == (gp.user, "gp", practice.ods_code)
        assert (event.person_id, event.person_nhs_number, event.basis) == (
            person.pk,
            person.nhs_number,
            "registered_practice",
        )
        assert (event.outcome, event.detail, event.client_ip) == ("allowed", {"page": "summary"}, "127.0.0.1")

    def test_a_person_without_relationship_and_a_missing_person_are_refused_alike_and_both_audited(self):
        person = PersonFactory()
        actor = actor_at()

        with pytest.raises(PersonNotFound):
            person_open(actor=actor, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD)
        with pytest.raises(PersonNotFound):
            person_open(actor=actor, person_id=999_999_999, action=AccessEvent.Action.VIEW_RECORD)

        denied = AccessEvent.objects.filter(outcome="denied").order_by("seq")
        assert [e.person_id for e in denied] == [person.pk, 999_999_999]
        assert [e.person_nhs_number for e in denied] == ["", ""]  # nothing learnt is written either

    @pytest.mark.parametrize("flag", ["is_staff_member", "is_public_figure"])
    def test_opening_a_staff_or_public_figure_record_alerts_the_privacy_officer(
        self, flag, mailoutbox, django_capture_on_commit_callbacks
    ):
        practice = GpPracticeFactory()
        person = PersonFactory(registered_practice=practice, **{flag: True})
        officer = actor_at(
            practice, role_=role("privacy-officer", job_role_code="R0001", reads_records=False)
        )

        with django_capture_on_commit_callbacks(execute=True):
            person_open(
                actor=actor_at(practice, role_=role("gp")),
                person_id=person.pk,
                action=AccessEvent.Action.VIEW_RECORD,
            )

        alert = PrivacyAlert.objects.get()
        assert alert.kind == ("staff_record" if flag == "is_staff_member" else "public_figure")
        assert [m.to for m in mailoutbox] == [[officer.user.email]]
        assert alert.reference in mailoutbox[0].subject
        assert person.family_name not in mailoutbox[0].body
        assert person.nhs_number not in mailoutbox[0].body

    def test_opening_your_own_record_alerts(self):
        practice = GpPracticeFactory()
        person = PersonFactory(registered_practice=practice)
        gp = actor_at(practice, role_=role("gp"))
        gp.user.nhs_number = person.nhs_number
        gp.user.save()

        person_open(actor=gp, person_id=person.pk, action=AccessEvent.Action.VIEW_RECORD)

        assert PrivacyAlert.objects.get().kind == "own_record"


class TestBreakGlass:
    def test_gives_hours_of_access_audits_the_reason_and_alerts(
        self, mailoutbox, settings, django_capture_on_commit_callbacks
    ):
        settings.DCR_PRIVACY_OFFICER_EMAILS = ["privacy@example.nhs.uk"]
        person = PersonFactory(date_of_birth=date(1950, 3, 1))
        paramedic = actor_at(role_=role("paramedic"))
        assert visible(paramedic) == set()

        with django_capture_on_commit_callbacks(execute=True):
            grant = break_glass_grant(
                actor=paramedic,
                nhs_number=person.nhs_number,
                date_of_birth=date(1950, 3, 1),
                reason_code=AccessGrant.Reason.EMERGENCY_CARE,
                reason_text="Unconscious",
            )

        assert timedelta(hours=3) < grant.expires_at - timezone.now() <= timedelta(hours=4)
        assert access_basis(actor=paramedic, person=person) is Basis.BREAK_GLASS
        event = AccessEvent.objects.get(action="break_glass")
        assert "Unconscious" in event.basis_detail
        assert PrivacyAlert.objects.get().access_grant == grant
        assert mailoutbox[0].to == ["privacy@example.nhs.uk"]

    def test_ends_when_it_expires(self):
        person = PersonFactory(date_of_birth=date(1950, 3, 1))
        actor = actor_at()
        grant = break_glass_grant(
            actor=actor,
            nhs_number=person.nhs_number,
            date_of_birth=date(1950, 3, 1),
            reason_code=AccessGrant.Reason.EMERGENCY_CARE,
        )
        AccessGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

        assert visible(actor) == set()

    def test_needs_the_exact_date_of_birth_and_a_failed_attempt_is_audited(self):
        person = PersonFactory(date_of_birth=date(1950, 3, 1))
        actor = actor_at()

        with pytest.raises(PersonNotFound):
            break_glass_grant(
                actor=actor,
                nhs_number=person.nhs_number,
                date_of_birth=date(1950, 3, 2),
                reason_code=AccessGrant.Reason.EMERGENCY_CARE,
            )

        assert AccessEvent.objects.get().outcome == "denied"
        assert not AccessGrant.objects.exists()

    def test_other_needs_an_explanation_and_some_roles_cannot_break_glass(self):
        person = PersonFactory(date_of_birth=date(1950, 3, 1))
        with pytest.raises(AccessRefused, match="Explain"):
            break_glass_grant(
                actor=actor_at(),
                nhs_number=person.nhs_number,
                date_of_birth=date(1950, 3, 1),
                reason_code=AccessGrant.Reason.OTHER,
            )
        clerk = actor_at(role_=role("hospital-administrator", categories=ADMIN, may_break_glass=False))
        with pytest.raises(AccessRefused, match="cannot use emergency access"):
            break_glass_grant(
                actor=clerk,
                nhs_number=person.nhs_number,
                date_of_birth=date(1950, 3, 1),
                reason_code=AccessGrant.Reason.EMERGENCY_CARE,
            )


class TestSelfClaim:
    def test_only_where_the_organisation_allows_it_and_it_alerts(self):
        person = PersonFactory(date_of_birth=date(1980, 1, 1))
        strict = actor_at(OrganisationFactory(allows_self_claim=False))
        with pytest.raises(AccessRefused, match="does not allow"):
            self_claim_grant(
                actor=strict,
                nhs_number=person.nhs_number,
                date_of_birth=date(1980, 1, 1),
                reason_code=AccessGrant.Reason.NEW_REFERRAL,
            )

        open_ = actor_at(OrganisationFactory(allows_self_claim=True))
        self_claim_grant(
            actor=open_,
            nhs_number=person.nhs_number,
            date_of_birth=date(1980, 1, 1),
            reason_code=AccessGrant.Reason.NEW_REFERRAL,
        )

        assert access_basis(actor=open_, person=person) is Basis.SELF_CLAIM
        assert PrivacyAlert.objects.get().kind == "self_claim"
