"""The demo's generators are pure: these tests need no database."""

import base64
import re
import statistics
from collections import Counter
from datetime import date, timedelta

import nhs_number
import pytest

from records.demo import codes
from records.demo.history import person_history
from records.demo.organisations import organisation_specs, practices
from records.demo.people import MAX_PEOPLE, demo_nhs_number, person_spec
from records.fhir import validate_resource
from records.models import EntryCategory, Organisation, Sensitivity
from records.models.entry import CATEGORY_RESOURCE_TYPES
from tests.records.factories import synthetic_nhs_number

SEED = 7
AS_OF = date(2026, 11, 22)


def sample(people: int, seed: int = SEED):
    return [
        (person, person_history(seed=seed, person=person))
        for person in (person_spec(seed=seed, index=i, as_of=AS_OF) for i in range(people))
    ]


@pytest.fixture(scope="module")
def population():
    return sample(300)


class TestNhsNumbers:
    def test_are_valid_numbers_in_the_test_range_and_never_repeat(self):
        indexes = [*range(20_000), *range(MAX_PEOPLE - 1_000, MAX_PEOPLE)]
        numbers = [demo_nhs_number(i) for i in indexes]
        assert len(set(numbers)) == len(numbers)
        assert all(n.startswith("999") and nhs_number.is_valid(n) for n in numbers)

    def test_never_meet_the_test_factories_numbers(self):
        factories = {synthetic_nhs_number(n) for n in range(5_000)}
        assert factories.isdisjoint(demo_nhs_number(i) for i in range(50_000))

    def test_refuse_an_index_beyond_the_range(self):
        with pytest.raises(ValueError, match="900000"):
            demo_nhs_number(MAX_PEOPLE)


class TestDeterminism:
    def test_same_seed_and_index_give_the_same_person_and_record(self):
        first, second = sample(5), sample(5)
        assert [p for p, _ in first] == [p for p, _ in second]
        assert [[(s, d.business_key, d.resource) for s, d in h] for _, h in first] == [
            [(s, d.business_key, d.resource) for s, d in h] for _, h in second
        ]

    def test_another_seed_gives_other_people(self):
        assert [p.family_name for p, _ in sample(20)] != [p.family_name for p, _ in sample(20, seed=SEED + 1)]


class TestRecords:
    def test_cover_every_category_with_valid_fhir(self, population):
        """Every generated resource validates under the R4 models (R4B, records.fhir), in every category."""
        seen = Counter()
        for _, history in population:
            for _, draft in history:
                validate_resource(draft.resource)
                assert draft.resource["resourceType"] in CATEGORY_RESOURCE_TYPES[draft.category]
                seen[draft.category] += 1
        assert set(seen) == set(EntryCategory.values)

    def test_every_resource_type_of_every_category_appears(self, population):
        types = {(d.category, d.resource["resourceType"]) for _, history in population for _, d in history}
        expected = {(category, t) for category, kinds in CATEGORY_RESOURCE_TYPES.items() for t in kinds}
        assert types == expected

    def test_business_keys_are_unique_within_each_source(self, population):
        keys = Counter((source, d.business_key) for _, history in population for source, d in history)
        assert keys.most_common(1)[0][1] == 1

    def test_older_people_have_fuller_records(self, population):
        old = [len(h) for p, h in population if p.age >= 75]
        young = [len(h) for p, h in population if 18 <= p.age < 40]
        assert statistics.mean(old) > 2 * statistics.mean(young)
        assert 25 <= statistics.mean(len(h) for _, h in population) <= 70

    def test_nothing_happens_to_the_dead_after_death(self, population):
        deceased = [(p, h) for p, h in population if p.date_of_death]
        assert deceased
        for person, history in deceased:
            for _, draft in history:
                if draft.occurred_at:
                    assert draft.occurred_at.date() <= person.date_of_death, draft.summary

    def test_only_appointments_lie_in_the_future(self, population):
        future = {
            d.category
            for _, history in population
            for _, d in history
            if d.occurred_at and d.occurred_at.date() >= AS_OF
        }
        assert future == {EntryCategory.APPOINTMENT}
        booked = [d for _, h in population for _, d in h if d.status == "booked"]
        assert booked
        assert all(d.occurred_at.date() > AS_OF for d in booked)

    def test_no_source_stamps_a_version_after_the_as_of_date(self, population):
        assert max(d.source_updated_at for _, h in population for _, d in h).date() < AS_OF

    def test_lab_results_fall_both_sides_of_their_range(self, population):
        flags = Counter(
            d.resource["interpretation"][0]["coding"][0]["code"]
            for _, history in population
            for _, d in history
            if d.category == EntryCategory.LAB_RESULT
        )
        assert flags["N"] > flags["H"] > 0
        assert flags["L"] > 0

    def test_diabetics_have_hba1c_often_enough_for_a_trend(self, population):
        diabetic_counts = [
            sum(d.subtype == "hba1c" and d.category == EntryCategory.LAB_RESULT for _, d in history)
            for _, history in population
            if any(d.code == "44054006" for _, d in history)
        ]
        assert diabetic_counts
        assert min(diabetic_counts) >= 4

    def test_results_carry_ucum_units_and_pbcl_codes(self, population):
        result = next(
            d
            for _, h in population
            for _, d in h
            if d.category == EntryCategory.LAB_RESULT and d.subtype == "hb"
        )
        assert result.resource["valueQuantity"]["system"] == codes.UCUM
        assert result.resource["valueQuantity"]["code"] == "g/L"
        assert result.code == "1022431000000105"
        assert result.parent_business_key

    def test_letters_are_readable_text(self, population):
        letters = [d for _, h in population for _, d in h if d.category == EntryCategory.DOCUMENT]
        assert {d.subtype for d in letters} >= {"discharge-letter", "clinic-letter"}
        for letter in letters:
            text = base64.b64decode(letter.resource["content"][0]["attachment"]["data"]).decode()
            assert "NHS number:" in text
            assert len(text) > 300

    def test_sensitive_entries_are_labelled_restricted(self, population):
        sensitive = [d for _, h in population for _, d in h if d.sensitivity != Sensitivity.NORMAL]
        assert sensitive
        for draft in sensitive:
            assert draft.resource["meta"]["security"][0]["code"] == "R"
        sti = {code for code, _ in codes.STI_CODES}
        assert all(d.code in sti for d in sensitive if d.sensitivity == Sensitivity.SEXUAL_HEALTH)


class TestPeople:
    def test_demographics_look_british_and_local(self, population):
        people = [p for p, _ in population]
        for person in people:
            assert re.fullmatch(r"(DT\d{1,2}|BH\d{1,2}|SP[78]) \d[A-Z]{2}", person.address.postcode)
            assert not person.phone_home or person.phone_home.startswith("01632 960")
            assert not person.phone_mobile or person.phone_mobile.startswith("07700 900")
            assert person.date_of_birth <= AS_OF
        ages = Counter(p.age >= 65 for p in people)
        assert 0.15 < ages[True] / len(people) < 0.45
        assert Counter(p.gender for p in people).keys() == {"female", "male"}

    def test_some_have_died_recently(self):
        people = [person_spec(seed=SEED, index=i, as_of=AS_OF) for i in range(2_000)]
        deaths = [p.date_of_death for p in people if p.date_of_death]
        assert 0.005 < len(deaths) / len(people) < 0.05
        assert all(AS_OF - timedelta(days=1000) < d < AS_OF for d in deaths)
        assert any(p.is_restricted for p in people)


class TestOrganisations:
    def test_about_85_practices_with_j81_codes(self):
        codes_ = [p.ods_code for p in practices()]
        assert 80 <= len(codes_) <= 90
        assert len(set(codes_)) == len(codes_)
        assert all(re.fullmatch(r"J81\d{3}", c) for c in codes_)
        assert {"J81002", "J81082", "J81626"} <= set(codes_)

    def test_real_trusts_and_local_council_codes(self):
        specs = {spec.ods_code: spec for spec in organisation_specs()}
        assert {"RBD", "R0D", "RDY", "RYF", "RNZ", "RHM"} <= specs.keys()
        councils = [s for s in specs.values() if s.kind == Organisation.Kind.COUNCIL_SOCIAL_CARE]
        assert {c.ods_code for c in councils} == {"LOCAL-DORSET", "LOCAL-BCP"}
        assert all(source.kind == "csv" for c in councils for source in c.sources)

    def test_every_organisation_has_a_source_system_and_a_controller_contact(self):
        for spec in organisation_specs():
            assert spec.sources
            assert spec.sharing_agreement_from < AS_OF
            assert re.search(r"@[\w.]+\.example\.(nhs|gov)\.uk$", spec.data_controller_email)
