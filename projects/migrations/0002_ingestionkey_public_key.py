# Adds the Langfuse public key to ingestion keys: added nullable, filled for existing keys, then
# made unique and required (a unique default cannot be added in one step to a table with rows).

from django.db import migrations, models

import projects.models


def fill_public_keys(apps, schema_editor):
    IngestionKey = apps.get_model("projects", "IngestionKey")
    for key in IngestionKey.objects.filter(public_key__isnull=True).only("pk"):
        key.public_key = projects.models.new_public_key()
        key.save(update_fields=["public_key"])


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestionkey",
            name="public_key",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(fill_public_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ingestionkey",
            name="public_key",
            field=models.CharField(
                default=projects.models.new_public_key, editable=False, max_length=64, unique=True
            ),
        ),
    ]
