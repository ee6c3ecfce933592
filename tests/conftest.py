import pytest

from tests.records.factories import MembershipFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def gp_user(db):
    """A GP with a membership at a practice."""
    return MembershipFactory().user


@pytest.fixture
def user_without_role(db):
    return UserFactory()
