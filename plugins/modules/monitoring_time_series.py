#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_time_series
short_description: Write one point of a user-defined Cloud Monitoring metric
version_added: 0.3.0
description:
  - Writes one GAUGE point, at the time of the run, to a time series of a user-defined metric (C(custom.googleapis.com/...)
    or C(workload.googleapis.com/...)), for facts Google does not measure (a verified backup's age, a secret's rotation
    being overdue), to chart and alert on.
  - Google creates the metric's descriptor on its first point, of the point's value type. A metric's value type cannot change.
  - A point is always a change. Check mode writes nothing and reports the point that would be written.
  - Google takes at most one point every 5 seconds per time series; a faster writer fails.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
attributes:
  idempotent:
    support: none
    details: Every run writes a point.
options:
  metric_type:
    description: The metric, V(custom.googleapis.com/PATH) or V(workload.googleapis.com/PATH), like V(custom.googleapis.com/orchestra/backup_age).
    type: str
    required: true
  metric_labels:
    description: The labels of the series, keys of a letter then letters, digits or C(_); values are written as strings.
    type: dict
    default: {}
  resource_type:
    description: The monitored resource the series is about.
    type: str
    choices: [global, generic_task, generic_node]
    default: global
  resource_labels:
    description:
      - The labels of the monitored resource besides C(project_id), which is the task's project.
      - V(generic_task) needs C(location), C(namespace), C(job) and C(task_id); V(generic_node) needs C(location),
        C(namespace) and C(node_id); V(global) has none.
    type: dict
    default: {}
  value:
    description: The point's value, a number or a boolean (a string holding one is read as one).
    type: raw
    required: true
  value_type:
    description: The point's type; when not given, V(BOOL) for a boolean, V(INT64) for a whole number, V(DOUBLE) otherwise.
    type: str
    choices: [INT64, DOUBLE, BOOL]
"""

EXAMPLES = r"""
- name: Report the age of the last verified backup
  orchestra.gcp.monitoring_time_series:
    metric_type: custom.googleapis.com/orchestra/redis_backup_age
    metric_labels: {instance: orchestra-cache}
    value: "{{ backup_age_seconds }}"
    value_type: DOUBLE

- name: Report whether a secret's rotation is overdue
  orchestra.gcp.monitoring_time_series:
    metric_type: custom.googleapis.com/orchestra/secret_rotation_overdue
    metric_labels: {secret: api-key}
    value: "{{ rotation_overdue | bool }}"
"""

RETURN = r"""
time_series:
  description: The time series written (or, in check mode, that would be written), with its one point.
  returned: always
  type: dict
  sample:
    metric:
      type: custom.googleapis.com/orchestra/redis_backup_age
      labels: {instance: orchestra-cache}
    resource:
      type: global
      labels: {project_id: my-project}
    metricKind: GAUGE
    valueType: DOUBLE
    points:
      - interval: {endTime: "2026-01-01T12:00:00.123456Z"}
        value: {doubleValue: 3600.0}
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import TIME_SERIES_SPEC, write_time_series


def main():
    GcpModule(**TIME_SERIES_SPEC).run(write_time_series)


if __name__ == "__main__":
    main()
