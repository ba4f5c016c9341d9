"""The registry in the Django admin: the admin gathers input and shows results; every write
goes through the same services as the API and the CLI."""

from models_registry.admin import aimodels, reference, scheduled  # noqa: F401  (registers the ModelAdmins)
