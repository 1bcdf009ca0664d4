"""The metrics sink: time series that any API writes and Monitoring v3 `timeSeries.list` reads.

A writer describes each metric type once (metric kind, value type, unit) and writes points: a value at
a time for one series, named by its metric type and labels and its monitored resource type and labels
(`project_id` among them, as on every Google Cloud resource). Points are kept in memory: a reset or a
restart forgets them. `series` groups them into samples aligned on multiples of the sample length
since the epoch; what a sample's values make (a sum, a distribution, the last value) is Monitoring's.

Metric types a client creates by writing a point (Monitoring v3 `timeSeries.create`) are `created` with their
MetricDescriptor: their points are kept as written, each at its own end time and visible at once (no sampling),
and a reset forgets them with their points.

Where this comes from: the TimeSeries, Point, MetricDescriptor (metricKind, valueType, unit) and
MonitoredResource shapes of monitoring.v3.json; samples and their lag from Cloud Run's metric list
(https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run: "Sampled every 60 seconds. After sampling,
data is not visible for up to 180 seconds."), applied in monitoring_v3.py. The sink itself is the
emulator's own plumbing between its APIs; Google documents no such thing. `Every` runs the samplers that write gauges
(Cloud Run's instance counts, Memorystore's memory and clients) and the evaluation of alert policies.
"""

import math
import sys
import threading
import time
import traceback


class Sink:
    def __init__(self):
        self._lock = threading.Lock()
        self._descriptors = {}  # metric type -> (metric kind, value type, unit)
        self._created = {}  # metric type -> its MetricDescriptor, for the types timeSeries.create made
        self._points = {}  # (metric type, metric labels, resource type, resource labels) -> [(time, value)]

    def describe(self, metric_type, kind, value_type, unit):
        self._descriptors[metric_type] = (kind, value_type, unit)

    def create(self, descriptor):
        """Describe a metric type as a client's write does: its MetricDescriptor (JSON) is kept, and its points are
        served as written."""
        with self._lock:
            self._created[descriptor["type"]] = descriptor
            self._descriptors[descriptor["type"]] = (descriptor["metricKind"], descriptor["valueType"], descriptor.get("unit", ""))

    def created(self):
        """{metric type: MetricDescriptor} of the types clients created by writing."""
        with self._lock:
            return dict(self._created)

    def newest(self, metric_type, metric_labels, resource_type, resource_labels):
        """The time of the newest point of a series, else None."""
        with self._lock:
            points = self._points.get(_key(metric_type, metric_labels, resource_type, resource_labels))
            return points[-1][0] if points else None

    def descriptor(self, metric_type):
        """(metric kind, value type, unit) of a described metric type, else None."""
        return self._descriptors.get(metric_type)

    def write(self, metric_type, metric_labels, resource_type, resource_labels, value, at=None):
        """Add a point (`at`: epoch seconds, now by default) to a series of a described metric type. A
        point of a DISTRIBUTION metric is one measurement."""
        if metric_type not in self._descriptors:
            raise ValueError(f"Metric type {metric_type} is not described.")
        key = _key(metric_type, metric_labels, resource_type, resource_labels)
        with self._lock:
            self._points.setdefault(key, []).append((time.time() if at is None else at, value))

    def clear(self):
        with self._lock:
            self._points.clear()
            for metric_type in self._created:
                del self._descriptors[metric_type]
            self._created.clear()

    def series(self, project, sample_seconds, visible_until):
        """The series of `project` with their samples that closed by `visible_until`:
        [{"metric", "resource", "metricKind", "valueType", "unit", "sample_seconds", "samples": {start: [values]}}]."""
        with self._lock:
            found = [(key, list(points)) for key, points in self._points.items() if dict(key[3]).get("project_id") == project]
            created = set(self._created)
        series = []
        for (metric_type, metric_labels, resource_type, resource_labels), points in sorted(found):
            samples = {}
            for at, value in points:
                if metric_type in created:  # as written: a sample of its own, of no length
                    samples[at] = [value]
                    continue
                start = math.floor(at / sample_seconds) * sample_seconds
                if start + sample_seconds <= visible_until:
                    samples.setdefault(start, []).append(value)
            if samples:
                kind, value_type, unit = self._descriptors[metric_type]
                series.append({"metric": {"type": metric_type, "labels": dict(metric_labels)},
                               "resource": {"type": resource_type, "labels": dict(resource_labels)},
                               "metricKind": kind, "valueType": value_type, "unit": unit,
                               "sample_seconds": 0 if metric_type in created else sample_seconds, "samples": samples})
        return series


def _key(metric_type, metric_labels, resource_type, resource_labels):
    return metric_type, tuple(sorted(metric_labels.items())), resource_type, tuple(sorted(resource_labels.items()))


def sample_seconds(store):
    """How often the samplers write their gauges: Monitoring's sample length (`monitoring_sample_seconds`, admin config)."""
    with store.lock:
        return store.data["admin"]["config"]["monitoring_sample_seconds"]


class Every:
    """A daemon thread that calls `work()` every `seconds()` (read again after each call), from `start()` until `stop()`.
    `start()` on a running thread wakes it, so a changed period applies at once. A failing call is reported on stderr and
    the next one comes on time."""

    def __init__(self, name, seconds, work):
        self._name, self._seconds, self._work = name, seconds, work
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._stop = None

    def start(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self._name, daemon=True)
                self._thread.start()
            else:
                self._wake.set()

    def stop(self):
        with self._lock:
            if self._thread is not None:
                self._stop.set()
                self._wake.set()
                self._thread.join(timeout=5)
                self._thread = None

    def _run(self, stop):
        while not stop.is_set():
            try:
                self._work()
            except Exception:  # pylint: disable=broad-except  # one bad round never ends the thread
                traceback.print_exc(file=sys.stderr)
            self._wake.wait(self._seconds())
            self._wake.clear()
