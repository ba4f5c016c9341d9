from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    name = "models_registry"
    verbose_name = "Model registry"

    def ready(self):
        from llm_admin.api.exceptions import register_error_response
        from models_registry.api.errors import RESPONSES

        for error, respond in RESPONSES.items():
            register_error_response(error, respond)
