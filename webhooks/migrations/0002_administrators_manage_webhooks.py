"""Webhooks are the administrators' (docs/contract.md §7): the Model Administrators group
gets the rights on subscriptions, deliveries and attempts. Frozen here on purpose."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINISTRATORS = "Model Administrators"
PERMISSIONS = [
    "add_webhooksubscription",
    "change_webhooksubscription",
    "delete_webhooksubscription",
    "view_webhooksubscription",
    "change_webhookdelivery",  # redeliver
    "view_webhookdelivery",
    "view_webhookattempt",
]


def grant(apps, schema_editor):
    # Permissions are otherwise created only after all migrations ran (post_migrate).
    app_config = apps.get_app_config("webhooks")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    grant_administrators(apps)


def grant_administrators(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="webhooks", codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("models_registry", "0002_roles_and_starter_industries"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
