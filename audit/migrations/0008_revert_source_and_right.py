"""The revert door (models_registry.reverting): `revert` as a source, and the right to
revert audit entries, given to the Model Administrators group. Frozen here on purpose."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ADMINISTRATORS = "Model Administrators"
PERMISSIONS = ["revert_auditentry"]


def grant(apps, schema_editor):
    # Permissions are otherwise created only after all migrations ran (post_migrate).
    app_config = apps.get_app_config("audit")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    grant_administrators(apps)


def grant_administrators(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="audit", codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_schedule_source"),
        ("models_registry", "0002_roles_and_starter_industries"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-timestamp", "-id"],
                "permissions": [("revert_auditentry", "Can revert audit entries (and restore deleted models)")],
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="source",
            field=models.CharField(
                choices=[
                    ("admin", "Admin"),
                    ("api", "API"),
                    ("cli", "Command line"),
                    ("import", "Import"),
                    ("bulk", "Bulk operation"),
                    ("schedule", "Scheduled change"),
                    ("revert", "Revert"),
                ],
                max_length=10,
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
