"""The settings of metrics and logs, read from the environment (README, Configuration)."""

from llm_admin.tests.test_settings import run_manage, settings_value

PRODUCTION = {"DJANGO_SECRET_KEY": "x" * 50}
READ = "(settings.LOG_FORMAT, settings.LOGGING['handlers']['console']['stream'], settings.METRICS_ALLOWED_IPS)"


def test_production_logs_json_lines_on_standard_output_and_development_text():
    production = settings_value(READ, **PRODUCTION, LOG_FORMAT="", METRICS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.7,::1")
    development = settings_value(READ, DJANGO_DEBUG="true", LOG_FORMAT="")
    chosen = settings_value(READ, DJANGO_DEBUG="true", LOG_FORMAT="JSON")

    assert production.stdout.strip() == (
        "('json', 'ext://sys.stdout', (IPv4Network('10.0.0.0/8'), IPv4Network('192.0.2.7/32'), IPv6Network('::1/128')))"
    ), production.stderr
    assert development.stdout.strip() == "('text', 'ext://sys.stderr', ())", development.stderr
    assert chosen.stdout.strip().startswith("('json', 'ext://sys.stdout'"), chosen.stderr


def test_settings_that_make_no_sense_stop_the_start():
    log_format = settings_value("1", **PRODUCTION, LOG_FORMAT="xml")
    addresses = settings_value("1", **PRODUCTION, METRICS_ALLOWED_IPS="10.0.0.0/8,not-an-address")
    directory = settings_value("1", **PRODUCTION, PROMETHEUS_MULTIPROC_DIR="/no/such/directory")

    assert "LOG_FORMAT is json or text, not 'xml'." in log_format.stderr
    assert "METRICS_ALLOWED_IPS takes addresses or networks (CIDR)" in addresses.stderr
    assert "PROMETHEUS_MULTIPROC_DIR=/no/such/directory is not a directory." in directory.stderr


def test_a_command_logs_to_standard_error_its_standard_output_being_its_output():
    """`manage.py export_models > models.csv` must not find log lines in the CSV."""
    stream = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['stream'])"
    command = run_manage(
        "shell", "--no-imports", "-c", stream, DJANGO_SETTINGS_MODULE="llm_admin.settings", **PRODUCTION, LOG_FORMAT=""
    )

    assert command.stdout.strip() == "ext://sys.stderr", command.stderr
