"""One webhook POST, made safely (docs/contract.md §7, "Webhooks").

Through httpx2, the maintained continuation of httpx (by its author, now kept by
Pydantic; already pinned, as the `openai` package's client): explicit connect and read
timeouts, no redirects followed, no proxy or netrc taken from the environment, and a
response read as a stream, so only its first bytes are ever held.

The connection goes to the address `webhooks.addresses.pinned_address` checked, never to a
name resolved again: the URL is rewritten to that address, the `Host` header keeps the
name, and TLS is verified for the name (its `sni_hostname` extension), so a certificate
must still match the URL's host. A 2xx status is success; the body is read only up to
WEBHOOK_RESPONSE_MAX_BYTES, and no longer than WEBHOOK_TIMEOUT after the request began.
"""

import ipaddress
import time
from dataclasses import dataclass, replace

import httpx2
from django.conf import settings

from webhooks.addresses import Target, UnsafeAddress, pinned_address
from webhooks.models import ERROR_MAX_LENGTH, RESPONSE_EXCERPT_MAX_CHARS


@dataclass(frozen=True)
class Answer:
    """How one attempt went: the status (None when no response came), how long it took,
    what went wrong (empty for a 2xx), and the start of the response body."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _url_for(target: Target) -> str:
    host = target.address
    if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
        host = f"[{host}]"
    return f"{target.scheme}://{host}:{target.port}{target.path}"


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


class Transport:
    """Sends POSTs; keeps one connection pool per (host, address, port), so a TLS connection
    made for one host name is never reused for another. One per thread."""

    def __init__(self):
        self._clients: dict[tuple, httpx2.Client] = {}

    def _client(self, target: Target) -> httpx2.Client:
        key = (target.scheme, target.host, target.address, target.port)
        client = self._clients.get(key)
        if client is None:
            timeout = httpx2.Timeout(settings.WEBHOOK_TIMEOUT, connect=settings.WEBHOOK_CONNECT_TIMEOUT)
            client = httpx2.Client(timeout=timeout, follow_redirects=False, trust_env=False)
            self._clients[key] = client
        return client

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.monotonic()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = pinned_address(url)
        except UnsafeAddress as error:
            return Answer(None, elapsed_ms(), error=str(error)[:ERROR_MAX_LENGTH])
        headers = {**headers, "host": _host_header(target), "accept-encoding": "identity"}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        deadline = started + settings.WEBHOOK_TIMEOUT
        try:
            request = self._client(target).build_request(
                "POST", _url_for(target), content=body, headers=headers, extensions=extensions
            )
            response = self._client(target).send(request, stream=True)
            try:
                received = bytearray()
                for chunk in response.iter_raw():
                    received += chunk
                    if len(received) >= settings.WEBHOOK_RESPONSE_MAX_BYTES or time.monotonic() > deadline:
                        break  # enough to judge and show: the rest is not read (the connection is dropped)
            finally:
                response.close()
        except httpx2.TimeoutException:
            return Answer(None, elapsed_ms(), error=f"Timed out after {elapsed_ms() / 1000:.1f} s.")
        except httpx2.HTTPError as error:
            return Answer(None, elapsed_ms(), error=f"{type(error).__name__}: {error}"[:ERROR_MAX_LENGTH])
        status = response.status_code
        excerpt = bytes(received[: RESPONSE_EXCERPT_MAX_CHARS * 4]).decode("utf-8", "replace")
        answer = Answer(status, elapsed_ms(), excerpt=excerpt[:RESPONSE_EXCERPT_MAX_CHARS])
        if answer.succeeded:
            return answer
        error = f"Answered {status}"
        if 300 <= status < 400:
            error += f" (a redirect to {response.headers.get('location', '?')}, not followed)"
        return replace(answer, error=error[:ERROR_MAX_LENGTH])

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
