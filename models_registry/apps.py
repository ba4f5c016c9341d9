from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    name = "models_registry"
    verbose_name = "Model registry"

    def ready(self):
        from django.db.backends.signals import connection_created

        from models_registry.querysets import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="models_registry.sqlite_functions")
