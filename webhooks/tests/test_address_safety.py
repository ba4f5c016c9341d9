"""Deliveries go only where they may (docs/contract.md §7): https unless WEBHOOK_ALLOW_HTTP;
never to a private, loopback or link-local address unless allow-listed; to the very
address that was checked, whatever DNS answers next; no redirect followed; bounded in
time and in what is read back."""

import http.server
import socket
import threading
import time

import pytest

from webhooks import addresses
from webhooks.addresses import UnsafeAddress, pinned_address, url_problem
from webhooks.transport import Transport

BODY = b'{"type":"webhook.test"}'


@pytest.fixture
def strict(settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_HOSTS = []
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/x", "https://172.16.0.1/x", "https://192.168.1.1/x", "https://127.0.0.1/x",
        "https://[::1]/x", "https://169.254.169.254/latest/meta-data", "https://[fe80::1]/x", "https://100.64.0.1/x",
        "https://0.0.0.0/x", "https://[::ffff:127.0.0.1]/x", "https://224.0.0.1/x", "https://[fc00::1]/x",
    ],
)  # fmt: skip
def test_addresses_that_are_not_public_are_refused(strict, url):
    assert "not a public address" in url_problem(url)


def test_plain_http_only_when_allowed(strict):
    assert url_problem("http://hooks.example.com/x") == "Use an https:// URL."
    strict.WEBHOOK_ALLOW_HTTP = True
    assert url_problem("http://hooks.example.com/x") is None
    assert url_problem("https://hooks.example.com/x") is None


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "localhost"])
def test_the_allow_list_takes_addresses_networks_and_host_names(strict, entry, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [(2, 1, 6, "", ("127.0.0.1", port))])
    strict.WEBHOOK_ALLOWED_HOSTS = [entry]

    target = pinned_address("https://localhost:8443/hook?x=1")

    assert (target.host, target.address, target.port, target.path) == ("localhost", "127.0.0.1", 8443, "/hook?x=1")


def test_a_name_resolving_to_a_private_address_is_refused_when_sent_to(strict, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [(2, 1, 6, "", ("10.0.0.7", port))])

    assert url_problem("https://internal.example.com/x") is None  # nothing to judge until it is resolved
    with pytest.raises(UnsafeAddress, match=r"10\.0\.0\.7"):
        pinned_address("https://internal.example.com/x")


def test_only_an_allowed_address_of_several_is_used(strict, monkeypatch):
    answers = [(2, 1, 6, "", ("10.0.0.7", 443)), (2, 1, 6, "", ("93.184.215.14", 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: answers)

    assert pinned_address("https://mixed.example.com/x").address == "93.184.215.14"


def test_the_connection_goes_to_the_address_checked_whatever_dns_says_next(receiver, settings, monkeypatch):
    """DNS rebinding: the first answer passes the check, a second would point elsewhere; the
    delivery connects to the first (the URL is rewritten to it), and the name is sent as Host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    port = receiver.server_address[1]
    answers = iter([("127.0.0.1", port), ("10.9.9.9", port)])
    lookups = []
    resolve = socket.getaddrinfo

    def rebinding(host, port_, *args, **kwargs):
        if addresses.literal_address(host) is not None:  # an address: nothing to look up
            return resolve(host, port_, *args, **kwargs)
        lookups.append(host)
        return [(2, 1, 6, "", next(answers))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    sender = Transport()
    try:
        answer = sender.post(f"http://rebind.example.com:{port}/hook", BODY, {"content-type": "application/json"})
    finally:
        sender.close()

    assert answer.status_code == 200, answer.error
    assert lookups == ["rebind.example.com"]  # resolved once: the connection used the checked address
    [received] = receiver.wait_for(1)
    assert received.headers["host"] == f"rebind.example.com:{port}"


def test_a_refused_address_is_an_attempt_that_failed_without_a_connection(strict):
    sender = Transport()

    answer = sender.post("https://127.0.0.1:9/x", BODY, {})

    assert answer.status_code is None
    assert "not a public address" in answer.error


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers as the server's `script` says: a redirect, a huge body, or a slow one."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.script(self)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def scripted():
    servers = []

    def serve(script):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
        server.daemon_threads = True
        server.script = script
        server.hits = 0
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/hook"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_redirects_are_not_followed(scripted):
    target, target_url = scripted(lambda handler: count_and_answer(handler, 200))

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("location", target_url)
        handler.send_header("content-length", "0")
        handler.end_headers()

    _, url = scripted(redirect)
    sender = Transport()
    answer = sender.post(url, BODY, {})
    sender.close()

    assert answer.status_code == 307 and not answer.succeeded
    assert "not followed" in answer.error and target_url in answer.error
    assert target.hits == 0


def count_and_answer(handler, status):
    handler.server.hits += 1
    handler.send_response(status)
    handler.send_header("content-length", "0")
    handler.end_headers()


def test_a_response_body_is_read_only_up_to_the_cap(scripted, settings):
    settings.WEBHOOK_RESPONSE_MAX_BYTES = 1024
    sent = {"bytes": 0}

    def flood(handler):
        handler.send_response(500)
        handler.send_header("content-length", str(50 * 1024 * 1024))
        handler.end_headers()
        try:
            for _ in range(50 * 1024):
                handler.wfile.write(b"x" * 1024)
                sent["bytes"] += 1024
        except OSError:
            pass  # the sender hung up, as it should

    _, url = scripted(flood)
    sender = Transport()
    started = time.monotonic()
    answer = sender.post(url, BODY, {})
    sender.close()

    assert answer.status_code == 500
    assert len(answer.excerpt) == 1000  # what is kept of it
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert sent["bytes"] < 20 * 1024 * 1024  # the 50 MB were never all taken


def test_a_server_that_does_not_answer_in_time_is_a_timeout(scripted, settings):
    settings.WEBHOOK_TIMEOUT = 0.5

    _, url = scripted(lambda handler: time.sleep(3))
    sender = Transport()
    started = time.monotonic()
    answer = sender.post(url, BODY, {})
    sender.close()

    assert answer.status_code is None and answer.error.startswith("Timed out")
    assert time.monotonic() - started < 2


def test_a_body_that_trickles_in_is_abandoned_once_the_time_is_up(scripted, settings):
    settings.WEBHOOK_TIMEOUT = 1.0

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("content-length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    _, url = scripted(trickle)
    sender = Transport()
    started = time.monotonic()
    answer = sender.post(url, BODY, {})
    sender.close()

    assert answer.status_code == 200
    assert time.monotonic() - started < 2.5


def test_a_connection_that_cannot_be_made_is_an_error_not_a_crash():
    sender = Transport()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed

    answer = sender.post(f"http://127.0.0.1:{port}/x", BODY, {})
    sender.close()

    assert answer.status_code is None and "ConnectError" in answer.error


def test_addresses_module_judges_ipv4_written_as_ipv6_as_ipv4():
    assert addresses.public(addresses.literal_address("::ffff:8.8.8.8"))
    assert not addresses.public(addresses.literal_address("::ffff:10.0.0.1"))
