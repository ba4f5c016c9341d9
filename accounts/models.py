from django.db import models
from knox.models import AbstractAuthToken


class ServiceToken(AbstractAuthToken):
    """An API token, stored only as a hash (django-rest-knox), with an optional expiry and
    the time it was last used. Revoking a token deletes it."""

    name = models.CharField(max_length=100, blank=True, help_text="What the token is for.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.user})"
