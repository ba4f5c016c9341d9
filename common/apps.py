from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Shared helpers"

    def ready(self):
        from common.lookups import register_lookups

        register_lookups()
