"""The embedded worker: each step of `worker.steps` in its own threads, until stopped.

Needs nothing but the database. Each thread has its own database connection (Django's are
per thread), checked before every round so a restarted database is reconnected to. A
round that fails is logged and tried again after a pause that doubles up to 30 s, so a
database that is down is not hammered.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

from worker.steps import Step

logger = logging.getLogger("worker")
MAX_PAUSE_SECONDS = 30.0


class Worker:
    def __init__(self, steps: list[Step]):
        self.steps = steps
        self.stopping = threading.Event()
        self.wake = {step.name: threading.Event() for step in steps}
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for step in self.steps:
            for number in range(step.threads):
                thread = threading.Thread(
                    target=self._loop, args=(step,), name=f"{step.name} {number + 1}", daemon=True
                )
                thread.start()
                self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for event in self.wake.values():
            event.set()

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def run(self) -> None:
        """Start, and return once stopped and every round in progress has ended."""
        self.start()
        while not self.stopping.wait(1.0):
            pass
        self.join()

    def _loop(self, step: Step) -> None:
        round_ = step.make()
        pause = settings.WORKER_POLL_INTERVAL
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    done = round_(self.stopping)
                    pause = settings.WORKER_POLL_INTERVAL
                except Exception:
                    logger.exception("%s failed; trying again in %.1f s", step.name, pause)
                    connection.close()  # whatever state the failure left it in
                    self.stopping.wait(pause)
                    pause = min(pause * 2, MAX_PAUSE_SECONDS)
                    continue
                if done:
                    for name in step.wakes:
                        self.wake[name].set()
                    continue
                self.wake[step.name].wait(step.idle_seconds or settings.WORKER_POLL_INTERVAL)
                self.wake[step.name].clear()
        finally:
            getattr(round_, "close", lambda: None)()
            connection.close()
