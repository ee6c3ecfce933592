"""The lookup ingestion uses to drop data about people who have opted out."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.models import OptOut
from consent.selectors import nhs_numbers_opted_out
from tests.consent.factories import OptOutFactory

pytestmark = pytest.mark.django_db


def test_only_approved_opt_outs_count_and_withdrawn_ones_do_not():
    approved = OptOutFactory(status=OptOut.Status.APPROVED)
    received = OptOutFactory(status=OptOut.Status.RECEIVED)
    rejected = OptOutFactory(status=OptOut.Status.REJECTED, rejection_reason="identity")
    withdrawn = OptOutFactory(status=OptOut.Status.WITHDRAWN)
    asked = [o.nhs_number for o in (approved, received, rejected, withdrawn)] + ["9990000018"]

    assert nhs_numbers_opted_out(asked) == {approved.nhs_number}


def test_numbers_with_spaces_come_back_as_given_in_one_query():
    approved = OptOutFactory(status=OptOut.Status.APPROVED)
    spaced = f"{approved.nhs_number[:3]} {approved.nhs_number[3:6]} {approved.nhs_number[6:]}"

    with CaptureQueriesContext(connection) as queries:
        found = nhs_numbers_opted_out([spaced, "", "not a number", "9990000018"])

    assert found == {spaced}
    assert len(queries) == 1


def test_nothing_to_look_up_costs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert nhs_numbers_opted_out([]) == set()
    assert len(queries) == 0
