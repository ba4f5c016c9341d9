"""A webhook consumer for LLM Admin: verifies each delivery and prints its event.

    pip install standardwebhooks==1.1.0
    WEBHOOK_SECRET=whsec_... python examples/webhook_consumer.py --port 8765

Subscribe it (as an administrator; plain http to this machine needs the server's
WEBHOOK_ALLOW_HTTP=true and WEBHOOK_ALLOWED_HOSTS=127.0.0.1):

    curl -X POST http://127.0.0.1:8000/api/v1/webhooks -H "Authorization: Bearer $TOKEN" \\
         -H "Content-Type: application/json" \\
         -d '{"name": "example", "url": "http://127.0.0.1:8765/hook", "types": ["model.deprecated"]}'

It answers 204 once an event is verified (and handled), 400 when the signature is wrong
or too old, so LLM Admin retries only what it should. The same event may arrive twice
(delivery is at least once): events already seen are acknowledged and not handled again.
"""

import argparse
import contextlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY = 1024 * 1024


def handle(event: dict) -> None:
    """What this consumer does with an event: print it. Yours would act on it."""
    model = event["model"]["name"] if event["model"] else "-"
    changes = ", ".join(
        f"{field}: {change['old']!r} -> {change['new']!r}" for field, change in event["changes"].items()
    )
    print(f"{event['occurred_at']}  {event['type']:<22} {model:<30} {changes}", flush=True)


class Consumer(BaseHTTPRequestHandler):
    webhook: Webhook
    seen: set[str] = set()

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return self.answer(413)
        body = self.rfile.read(length)
        try:
            message = self.webhook.verify(body, dict(self.headers.items()))
        except WebhookVerificationError as error:
            print(f"refused a delivery: {error}", file=sys.stderr)
            return self.answer(400)
        event_id = self.headers["webhook-id"]
        if event_id not in self.seen:
            handle(message["data"])
            self.seen.add(event_id)
        return self.answer(204)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret.startswith("whsec_"):
        sys.exit("Set WEBHOOK_SECRET to the secret shown when the subscription was made (whsec_...).")
    Consumer.webhook = Webhook(secret)
    server = ThreadingHTTPServer((options.host, options.port), Consumer)
    print(f"Listening on http://{options.host}:{options.port}/ (Ctrl-C stops)", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
