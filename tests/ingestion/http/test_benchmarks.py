"""The benchmark commands run and print their figures (their values are for the README, not for tests)."""

import io

import pytest
from django.core.management import call_command

from tests.corpus import fixtures_dir

pytestmark = pytest.mark.django_db(transaction=True)


def test_benchmark_hl7_prints_its_figures():
    out = io.StringIO()

    call_command(
        "benchmark_hl7", messages=20, connections=2, latency_messages=10, rate=50, timeout=120, stdout=out
    )

    text = out.getvalue()
    for figure in (
        "receive (stored and ACKed)",
        "end to end (received -> in the record)",
        "ACK latency at 50 msgs/s",
        "freshness (received -> visible)",
        "ceiling: COPY of the resulting rows",
    ):
        assert figure in text, text
    assert "'applied': 20" in text


def test_benchmark_fhir_prints_its_figures(settings):
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    out = io.StringIO()

    call_command("benchmark_fhir", patients=2, fixtures=str(fixtures_dir()), stdout=out)

    text = out.getvalue()
    assert "2 whole-patient bundles" in text
    assert "0 refused" in text
    for figure in ("resources/s (entries sent)", "resources/s (entries stored)", "seconds a bundle"):
        assert figure in text, text
