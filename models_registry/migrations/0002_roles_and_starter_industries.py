"""The three roles of docs/contract.md section 2, the starter industries with their settings
rules, and the catalog version row. Frozen here on purpose: migrations must not import
code that may change later.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWER = [
    "models_registry.view_aimodel",
    "models_registry.view_provider",
    "models_registry.view_industry",
    "models_registry.view_modeldependency",
    "models_registry.view_modelindustryprofile",
]
EDITOR = VIEWER + [
    "models_registry.add_aimodel",
    "models_registry.change_aimodel",
    "models_registry.add_modeldependency",
    "models_registry.delete_modeldependency",
    "models_registry.add_modelindustryprofile",
    "models_registry.change_modelindustryprofile",
    "models_registry.delete_modelindustryprofile",
]
ADMINISTRATOR = EDITOR + [
    "models_registry.delete_aimodel",
    "models_registry.bulk_aimodel",
    "models_registry.import_aimodel",
    "models_registry.add_provider",
    "models_registry.change_provider",
    "models_registry.delete_provider",
    "models_registry.add_industry",
    "models_registry.change_industry",
    "models_registry.delete_industry",
    "audit.view_auditentry",
    "audit.view_securityevent",
]
ROLES = {"Model Viewers": VIEWER, "Model Editors": EDITOR, "Model Administrators": ADMINISTRATOR}

REGIONS = ["us", "eu", "uk", "ca", "apac", "au", "jp", "in", "br", "global"]
CERTIFICATIONS = [
    "HIPAA", "HITRUST", "SOC 2", "ISO 27001", "ISO 27701", "ISO 42001", "PCI DSS", "GDPR",
    "FedRAMP Moderate", "FedRAMP High", "StateRAMP", "FERPA", "COPPA", "ITAR", "CJIS", "IL4", "IL5",
]


def _schema(**extra_properties):
    """The rules every industry shares, plus its own."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "data_residency": {
                "title": "Data residency regions",
                "type": "array",
                "items": {"enum": REGIONS},
                "uniqueItems": True,
            },
            "certifications": {
                "title": "Required certifications",
                "type": "array",
                "items": {"enum": CERTIFICATIONS},
                "uniqueItems": True,
            },
            "personal_data_allowed": {"title": "Personal data allowed", "type": "boolean"},
            "max_temperature": {"title": "Maximum temperature", "type": "number", "minimum": 0, "maximum": 2},
            "approved_use_cases": {
                "title": "Approved use cases",
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 100},
                "uniqueItems": True,
            },
            "human_review_required": {"title": "Human review of outputs required", "type": "boolean"},
            "notes": {"title": "Notes", "type": "string", "maxLength": 2000},
            **extra_properties,
        },
    }


INDUSTRIES = [
    ("general", "General", "Any business use without sector-specific rules.", _schema()),
    (
        "healthcare",
        "Healthcare",
        "Clinical, payer and life-science use; protected health information needs HIPAA and a BAA.",
        _schema(
            phi_allowed={"title": "Protected health information allowed", "type": "boolean"},
            requires_baa={"title": "Business associate agreement required", "type": "boolean"},
        ),
    ),
    (
        "finance",
        "Finance",
        "Banking, insurance and payments; model risk management (SR 11-7) applies.",
        _schema(
            model_risk_tier={"title": "Model risk tier", "enum": ["low", "medium", "high"]},
            cardholder_data_allowed={"title": "Cardholder data allowed", "type": "boolean"},
        ),
    ),
    (
        "legal",
        "Legal",
        "Law firms and legal departments; privileged material needs confidentiality guarantees.",
        _schema(privileged_data_allowed={"title": "Privileged material allowed", "type": "boolean"}),
    ),
    ("retail", "Retail", "Commerce, customer service and marketing.", _schema()),
    (
        "education",
        "Education",
        "Schools and universities; student records fall under FERPA, children under COPPA.",
        _schema(
            student_records_allowed={"title": "Student records allowed", "type": "boolean"},
            minimum_user_age={"title": "Minimum user age", "type": "integer", "minimum": 0, "maximum": 21},
        ),
    ),
    (
        "government",
        "Government",
        "Public sector; FedRAMP or equivalent authorization is usually required.",
        _schema(
            classification_level={"title": "Highest data classification", "enum": ["public", "cui", "secret"]},
        ),
    ),
    (
        "manufacturing",
        "Manufacturing",
        "Industrial and engineering use; export-controlled technical data needs ITAR/EAR care.",
        _schema(export_controlled_data_allowed={"title": "Export-controlled data allowed", "type": "boolean"}),
    ),
]


def create_roles(apps, schema_editor):
    # Permissions are otherwise created only after all migrations ran (post_migrate).
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def create_industries(apps, schema_editor):
    Industry = apps.get_model("models_registry", "Industry")
    for slug, name, description, schema in INDUSTRIES:
        Industry.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "settings_schema": schema}
        )


def create_catalog_version(apps, schema_editor):
    apps.get_model("models_registry", "CatalogVersion").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0001_initial"),
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(create_industries, migrations.RunPython.noop),
        migrations.RunPython(create_catalog_version, migrations.RunPython.noop),
    ]
