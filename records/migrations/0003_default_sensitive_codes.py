"""The RCGP sensitive data set's example codes (shared/DOMAIN.md §6), editable afterwards in Django admin."""

from django.db import migrations

SNOMED = "http://snomed.info/sct"
DEFAULTS = [
    ("76272004", "Syphilis", "sexual_health"),
    ("15628003", "Gonorrhoea", "sexual_health"),
    ("240589008", "Chlamydia trachomatis infection", "sexual_health"),
    ("302812006", "Genital wart virus infection", "sexual_health"),
    ("86406008", "Human immunodeficiency virus infection", "sexual_health"),
    ("185268003", "Seen in fertility clinic", "fertility"),
    ("769411000000104", "Self referral to termination of pregnancy service", "termination"),
    ("274973002", "Dilation of cervix uteri and curettage for termination of pregnancy", "termination"),
]


def add_defaults(apps, schema_editor):
    SensitiveCode = apps.get_model("records", "SensitiveCode")
    for code, display, sensitivity in DEFAULTS:
        SensitiveCode.objects.get_or_create(
            code_system=SNOMED, code=code, defaults={"display": display, "sensitivity": sensitivity}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("records", "SensitiveCode").objects.filter(code__in=[c for c, _, _ in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0002_access_rules")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
