#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_canary_analysis
short_description: Judge a Cloud Run canary revision by HTTP checks and its request metrics
version_added: 0.1.0
description:
  - Measures the canary revision every O(interval) seconds for O(bake) seconds and returns a verdict
    of V(pass), V(fail) or V(inconclusive) with the numbers behind it. It changes nothing.
  - A measurement runs the O(http_checks), and reads Cloud Monitoring's C(run.googleapis.com/request_count) and
    C(run.googleapis.com/request_latencies) per revision over O(window) seconds ending O(metrics_delay) seconds
    before it (three C(timeSeries.list) calls). Cloud Monitoring's data arrives late, so a measurement judges a
    window whose data has arrived. What the HTTP checks send counts in the measurements taken O(metrics_delay)
    seconds later.
  - The canary fails a measurement when an HTTP check fails, its 5xx ratio is over O(max_error_ratio),
    its p95 or p99 latency is over O(max_p95_ms) or O(max_p99_ms), or it is worse than the baseline
    revision over the same window by more than O(max_error_ratio_increase), or by more than both
    O(max_latency_increase) and O(min_latency_increase_ms).
  - With fewer than O(min_requests) canary requests a measurement has no data, and counts as O(no_data) says.
  - The verdict is V(fail) as soon as more than O(failure_limit) measurements failed. Otherwise the canary is
    measured until its metrics up to the end of the bake time have arrived, that is O(metrics_delay) seconds
    after O(bake); the verdict is then V(pass) when the last O(consecutive_successes) measurements passed, and
    V(inconclusive) when they did not.
author: AI Orchestra platform team (@ai-orchestra)
options:
  canary:
    description: The revision to judge, by name or by one of the service's traffic tags.
    type: str
    required: true
  baseline:
    description:
      - The revision to compare with, by name or tag.
      - Defaults to the stable revision the service records (see M(orchestra.gcp.cloud_run_traffic)); without one,
        only the absolute limits apply.
    type: str
  window:
    description:
      - Seconds of metrics each measurement reads, ending O(metrics_delay) seconds before it. At least 60, Cloud
        Monitoring's smallest alignment period.
    type: int
    default: 300
  bake:
    description:
      - Seconds to keep measuring, at least; the verdict is that of the last measurement (V(pass) when the last
        O(consecutive_successes) measurements passed). A failure beyond O(failure_limit) stops the analysis at once.
        V(0) takes one measurement.
    type: int
    default: 0
  interval:
    description: Seconds between measurements.
    type: int
    default: 60
  metrics_delay:
    description:
      - How many seconds Cloud Monitoring's data about a request may arrive after it. Each measurement judges the
        window ending that long before it, and a pass waits that long after the bake time so that the last
        measurement covers the bake's end.
      - The default is Google's worst case for Cloud Run's request metrics, which are sampled every 60 seconds and
        "not visible for up to 180 seconds" after sampling (U(https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run));
        Cloud Monitoring's latency is "up to 4 minutes" (U(https://cloud.google.com/monitoring/api/v3/latency-n-retention)).
      - A shorter delay judges windows whose last minutes may not have arrived, and undercounts them. Only metrics
        that arrive faster, such as the local emulator's, warrant one.
    type: int
    default: 240
  failure_limit:
    description: Failed measurements tolerated; one more fails the canary.
    type: int
    default: 0
  consecutive_successes:
    description: Passing measurements in a row that pass the canary.
    type: int
    default: 1
  min_requests:
    description: Canary requests a measurement needs for its metrics to count.
    type: int
    default: 100
  no_data:
    description: How a measurement without enough requests counts.
    type: str
    choices: [fail, pause, pass]
    default: pause
  max_error_ratio:
    description: Largest share of 5xx responses the canary may have.
    type: float
    default: 0.01
  max_p95_ms:
    description: Largest p95 latency in milliseconds the canary may have.
    type: float
  max_p99_ms:
    description: Largest p99 latency in milliseconds the canary may have.
    type: float
  max_error_ratio_increase:
    description: How much higher than the baseline's the canary's 5xx ratio may be (absolute).
    type: float
    default: 0.01
  max_latency_increase:
    description: How much higher than the baseline's the canary's p95 latency may be, as a fraction (V(0.25) is 25%).
    type: float
    default: 0.25
  min_latency_increase_ms:
    description:
      - How many milliseconds higher than the baseline's the canary's p95 latency may be in any case. The canary
        fails the comparison only when it exceeds both this and O(max_latency_increase), so that noise on tiny
        latencies does not fail it.
    type: float
    default: 10
  metrics:
    description: Whether to read metrics; V(false) judges by O(http_checks) alone (a smoke test before traffic).
    type: bool
    default: true
  http_checks:
    description: HTTP requests each measurement sends, for example to the canary's tag URL.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The URL to GET; a path (starting with C(/)) is on the canary's tag URL.
        type: str
        required: true
      status:
        description: The statuses that pass.
        type: list
        elements: int
        default: [200]
      body:
        description: A regular expression the response body must match.
        type: str
      max_latency_ms:
        description: Largest p95 latency in milliseconds over the requests.
        type: float
      requests:
        description: How many requests to send, one after the other.
        type: int
        default: 1
      timeout:
        description: Seconds to wait for each answer.
        type: float
        default: 10
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.cloud_run_service
  - orchestra.gcp.gcp.info_module
notes:
  - Requires C(google-api-python-client) for Cloud Monitoring, whose google-cloud-* library has no REST transport.
"""

EXAMPLES = r"""
- name: Judge the canary for ten minutes against the stable revision (and four more while its metrics arrive)
  orchestra.gcp.cloud_run_canary_analysis:
    name: ai-orchestra
    region: us-central1
    canary: canary
    window: 300
    bake: 600
    interval: 60
    consecutive_successes: 3
    min_requests: 100
    max_error_ratio: 0.01
    max_p95_ms: 800
    http_checks:
      - url: /healthz
        body: '"status": ?"ok"'
        max_latency_ms: 500
  register: analysis

- name: Smoke-test the canary's tag URL before it gets traffic
  orchestra.gcp.cloud_run_canary_analysis:
    name: ai-orchestra
    region: us-central1
    canary: canary
    metrics: false
    http_checks:
      - url: /
        requests: 5
"""

RETURN = r"""
verdict:
  description: V(pass), V(fail) or V(inconclusive).
  returned: always
  type: str
reason:
  description: Why, with the numbers that decided it, and with metrics the last window judged and how late its data may arrive.
  returned: always
  type: str
  sample: "1 of 1 measurements failed (limit 0): error ratio 0.1 (limit 0.01) (last window judged 2026-01-05T10:00:00Z to
    2026-01-05T10:05:00Z: Cloud Monitoring data arrives up to 240 s late)"
canary:
  description: The canary revision's name.
  returned: always
  type: str
baseline:
  description: The baseline revision's name, or null.
  returned: always
  type: str
measurements:
  description: Each measurement, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: When it was taken (ISO 8601, UTC).
      type: str
    window:
      description:
        - The metrics it judged, as C(start) and C(end) (ISO 8601, UTC); C(end) is O(metrics_delay) seconds before
          C(time). Null when O(metrics=false).
      type: dict
    verdict:
      description: V(pass), V(fail) or V(no_data).
      type: str
    canary:
      description: The canary's requests, errors (5xx), error_ratio, p95_ms and p99_ms over its window.
      type: dict
    baseline:
      description: The same numbers for the baseline.
      type: dict
    checks:
      description: Each comparison, as C(check), C(value), C(limit) and C(passed) (null when not judged).
      type: list
      elements: dict
    http_checks:
      description: Each HTTP check, with C(statuses) counted, C(p95_ms), C(max_ms), C(passed), C(problems) and C(trace_id) (the
        Cloud Trace ID its requests were sent under, sampled).
      type: list
      elements: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._canary import ANALYSIS_SPEC, analyse
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule


def main():
    GcpModule(**ANALYSIS_SPEC).run(analyse)


if __name__ == "__main__":
    main()
