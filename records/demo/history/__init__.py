"""A person's record across every source, as a pure function of (seed, person): entries ready to upsert."""

from __future__ import annotations

import random

from records.demo.history import care, clinical, results, social
from records.demo.history.context import Ctx
from records.demo.people import PersonSpec
from records.services import EntryDraft


def person_history(*, seed: int, person: PersonSpec) -> list[tuple[str, EntryDraft]]:
    """Every entry of the person's record as (source system code, draft), person_id still unset.

    The order of the steps matters only for the Random: keep it, or every history changes.
    """
    ctx = Ctx(person=person, rng=random.Random(f"{seed}:history:{person.index}"))
    clinical.conditions_choose(ctx)
    clinical.allergies_add(ctx)
    clinical.problems_add(ctx)
    clinical.sensitive_add(ctx)
    clinical.medications_add(ctx)
    care.gp_care_add(ctx)
    care.emergency_care_add(ctx)
    care.referrals_add(ctx)
    care.community_care_add(ctx)
    results.routine_bloods_add(ctx)
    clinical.clinical_alerts_add(ctx)
    social.next_of_kin_add(ctx)
    social.social_care_add(ctx)
    social.clinical_care_plans_add(ctx)
    return ctx.drafts
