"""Reads of the record for views and tasks.

Person data is reached only through selectors that take the acting user; the access rules (care
relationships, categories by role, sensitivity, sharing agreements, opt-outs) are applied here.
"""

from django.db.models import QuerySet

from records.models import Membership, User


def membership_list_for(*, user: User) -> QuerySet[Membership]:
    """The organisations and roles a user may act in."""
    return (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organisation", "role")
        .order_by("organisation__name", "role__name")
    )
