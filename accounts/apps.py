from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Service accounts and API tokens"

    def ready(self):
        from accounts import schema  # noqa: F401  (registers the OpenAPI description of tokens)
