from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


class Migration(migrations.Migration):
    """soundex() and levenshtein() for typo-tolerant name search (contrib, like pg_trgm)."""

    dependencies = [("records", "0004_organisation_licences_optional")]

    operations = [CreateExtension("fuzzystrmatch")]
