"""`python manage.py run_worker`: apply scheduled changes and deliver webhooks until
stopped by SIGTERM or SIGINT (Ctrl-C), finishing the attempts in progress first.
With WORKER_QUEUE=rq it sends nothing itself: it hands claimed deliveries to RQ."""

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from worker.runner import Worker
from worker.steps import worker_steps


class Command(BaseCommand):
    help = "Run the background worker (scheduled changes, webhook deliveries) until stopped."

    def handle(self, *args, **options):
        logging.getLogger("worker").setLevel(logging.INFO)
        worker = Worker(worker_steps())

        def stop(signum, frame):
            self.stdout.write(f"Stopping ({signal.Signals(signum).name}): finishing the attempts in progress.")
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        threads = ", ".join(f"{step.name} x{step.threads}" for step in worker.steps)
        if settings.WORKER_QUEUE == "rq":
            threads += f"; sent by RQ workers from queue {settings.WORKER_RQ_QUEUE}"
        self.stdout.write(f"Worker running ({threads}; polling every {settings.WORKER_POLL_INTERVAL} s).")
        worker.run()
        self.stdout.write("Worker stopped.")
