from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Service accounts and API tokens"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import schema  # noqa: F401  (registers the OpenAPI description of tokens)
        from accounts.signals import on_login

        user_logged_in.connect(on_login, dispatch_uid="accounts.session_times")
