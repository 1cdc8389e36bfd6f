from django.db import migrations


def load(apps, schema_editor):
    from capacity.reference import load_reference_data

    load_reference_data(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("capacity", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
