"""What the API framework announces, for the apps that record it (connected in their
AppConfig.ready()): the framework knows no app."""

from django.dispatch import Signal

# A call refused for its credentials or rights (401, 403, a CSRF failure), whichever door:
# sent with `request` and `detail` (a JSON-safe dict). The security log records it
# (audit.signals.on_request_refused).
request_refused = Signal()
