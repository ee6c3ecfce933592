import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from consent.models import OptOut, new_reference
from tests.records.factories import synthetic_nhs_number


class OptOutFactory(DjangoModelFactory):
    class Meta:
        model = OptOut

    reference = factory.LazyFunction(new_reference)
    channel = OptOut.Channel.WEB
    received_at = factory.LazyFunction(timezone.now)
    nhs_number = factory.Sequence(lambda n: synthetic_nhs_number(90000 + n))
    given_names = "Alex"
    family_name = "Example"
    declaration = True
