"""Reading GET /metrics as Prometheus would, for the tests."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests-7f3a9c"


class Exposition:
    """One scrape's text and its samples, by name and labels."""

    def __init__(self, text: str):
        self.text = text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not exposed yet (no request of its labels so far)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples


def growth(before: Exposition, after: Exposition, name: str, **labels: str) -> float:
    """How much a series grew between two scrapes (the registry is the test process's, which
    other tests' requests add to, so only differences say anything)."""
    return after.value(name, **labels) - before.value(name, **labels)
