"""The station's ``/metrics`` through the Prometheus client library (text format 0.0.4).

The agent and every subsystem return metric *families* (``gauge()`` and
``counter()`` below), never text: the library writes HELP and TYPE for each
family, escapes label values and adds ``_total`` to counters, so a name can
never be a gauge in one place and a counter in another. A counter is named here
without its ``_total`` (the library appends it); anything that can go down is
a gauge.

One registry per scrape, never the library's global one: the station's figures
live in its journal and subsystems, read when Prometheus asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # "text/plain; version=0.0.4; charset=utf-8"

log = logging.getLogger("sohoa.metrics")


def version() -> str:
    """The installed release of sohoa ("unknown" when run from a tree that is not installed)."""
    try:
        return metadata.version("sohoa")
    except metadata.PackageNotFoundError:
        return "unknown"


def gauge(name: str, help_text: str, value: float | None = None, *,
          samples: Iterable[tuple[Mapping[str, object], float]] = ()) -> GaugeMetricFamily:
    """A gauge family: one unlabelled *value*, or labelled *samples* (labels, value); all samples share labels."""
    return _family(GaugeMetricFamily, name, help_text, value, samples)


def counter(name: str, help_text: str, value: float | None = None, *,
            samples: Iterable[tuple[Mapping[str, object], float]] = ()) -> CounterMetricFamily:
    """A counter family; *name* without ``_total`` (the exposition adds it)."""
    if name.endswith("_total"):
        raise ValueError(f"counter {name!r}: name it without _total")
    return _family(CounterMetricFamily, name, help_text, value, samples)


def _family(kind, name, help_text, value, samples):
    samples = list(samples)
    if value is not None:
        return kind(name, help_text, value=value)
    labels = list(samples[0][0]) if samples else []
    family = kind(name, help_text, labels=labels)
    for sample_labels, sample_value in samples:
        family.add_metric([str(sample_labels[k]) for k in labels], sample_value)
    return family


class _Collector:
    def __init__(self, families: Callable[[], Iterable[Metric]]):
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families()


def station_families(device_id: str, core: Callable[[], Iterable[Metric]], sources: Iterable) -> list[Metric]:
    """Build info, the agent's own families and every subsystem's; a broken subsystem is counted, not fatal."""
    info = GaugeMetricFamily("sohoa_build_info", "The station's release and device id (always 1).",
                             labels=["version", "device_id"])
    info.add_metric([version(), device_id], 1)
    families: list[Metric] = [info, *core()]
    broken = []
    for src in sources:
        try:
            families.extend(src.metrics())
        except Exception:  # keep the other metrics flowing; the failure itself is a sample
            log.warning("metrics of %s failed", src.name, exc_info=True)
            broken.append(({"source": src.name}, 1))
    families.append(gauge("sohoa_source_error", "1 for a subsystem whose metrics could not be read this scrape.",
                          samples=broken))
    return families


def exposition(families: Iterable[Metric]) -> bytes:
    """The text format 0.0.4 body of *families* (served with :data:`CONTENT_TYPE`)."""
    registry = CollectorRegistry(auto_describe=False)
    fixed = list(families)
    registry.register(_Collector(lambda: fixed))
    return generate_latest(registry)
