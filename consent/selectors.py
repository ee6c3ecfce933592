"""Reads of opt-outs and proxies."""

from __future__ import annotations

from collections.abc import Iterable

from consent.models import OptOut
from records import nhs_numbers as nhs


def nhs_numbers_opted_out(nhs_numbers: Iterable[str]) -> set[str]:
    """The NHS numbers among those given that have an opt-out in force (approved, not withdrawn).

    One query on the partial unique index of opt-outs in force. Numbers may carry spaces; the set holds
    them as given, so callers can test membership with what they passed in.
    """
    given = {number: nhs.normalise(number) for number in nhs_numbers if number}
    wanted = {digits for digits in given.values() if len(digits) == 10}
    if not wanted:
        return set()
    held = set(OptOut.objects.in_force().filter(nhs_number__in=wanted).values_list("nhs_number", flat=True))
    return {number for number, digits in given.items() if digits in held}


def opt_out_in_force_for(nhs_number: str) -> bool:
    """Whether data about this NHS number must be dropped."""
    return bool(nhs_numbers_opted_out([nhs_number]))
