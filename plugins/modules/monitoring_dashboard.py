#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_dashboard
short_description: Create, update or delete a Cloud Monitoring dashboard
version_added: 0.3.0
description:
  - Manages a Cloud Monitoring dashboard of charts of metrics, charts of alert policies and markdown, laid out on a
    grid of O(columns) columns in the order given.
  - The dashboard's ID is the slug of O(display_name) (lowercase letters, digits, C(_) and C(-)), so the module reads
    it by name; display names that differ only in case or punctuation name the same dashboard.
  - The dashboard is compared on what the task gives, so the defaults Google fills in and its C(etag) do not count. A
    dashboard changed elsewhere is brought back, its other fields (labels, filters) kept. The update carries the
    C(etag) read; when another writer changed the dashboard in between, it is read and compared again once.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  display_name:
    description: The dashboard's name in the console; its slug is the dashboard's ID.
    type: str
    required: true
  state:
    description: Whether the dashboard exists.
    type: str
    choices: [present, absent]
    default: present
  columns:
    description: The number of columns of the grid.
    type: int
    default: 2
  widgets:
    description: The widgets, row by row; each has a O(widgets[].title) and exactly one of O(widgets[].chart), O(widgets[].alert) or O(widgets[].text).
    type: list
    elements: dict
    default: []
    suboptions:
      title:
        description: The widget's title.
        type: str
        required: true
      chart:
        description: A chart of time series.
        type: dict
        suboptions:
          filter:
            description: The time series, like V(metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"). Required.
            type: str
          aligner:
            description: The per-series aligner, like V(ALIGN_RATE); needs O(widgets[].chart.alignment_period).
            type: str
          alignment_period:
            description: The period each series is aligned over, at least V(60s).
            type: raw
          reducer:
            description: The cross-series reducer, like V(REDUCE_SUM); needs an aligner other than V(ALIGN_NONE).
            type: str
          group_by:
            description: The fields the reducer groups by.
            type: list
            elements: str
            default: []
          plot:
            description: How the series are drawn, V(LINE), V(STACKED_AREA), V(STACKED_BAR) or V(HEATMAP).
            type: str
            default: LINE
          thresholds:
            description: Values drawn as horizontal lines.
            type: list
            elements: raw
            default: []
      alert:
        description:
          - The display name of an alert policy, whose chart is shown; it must name exactly one policy. In check mode a
            policy that does not exist yet is a warning.
        type: str
      text:
        description: Markdown.
        type: str
"""

EXAMPLES = r"""
- name: The production dashboard
  orchestra.gcp.monitoring_dashboard:
    display_name: Orchestra prod
    columns: 2
    widgets:
      - title: Requests by status class
        chart:
          filter: metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"
          aligner: ALIGN_RATE
          alignment_period: 60s
          reducer: REDUCE_SUM
          group_by: [metric.label.response_code_class]
          plot: STACKED_BAR
      - title: Server errors
        alert: Orchestra 5xx
      - title: Runbook
        text: "See [the runbook](https://wiki.example.com/orchestra)."
"""

RETURN = r"""
dashboard:
  description: The dashboard as Google returns it; null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/dashboards/orchestra-prod
    displayName: Orchestra prod
    etag: 0f5d2c8e5b6a4f0e9d1c3b2a7e6f5d4c
    gridLayout:
      columns: "2"
      widgets:
        - title: Runbook
          text:
            content: See the runbook.
            format: MARKDOWN
changed_options:
  description: The fields that differed from the live dashboard (all of them for a new one).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import DASHBOARD_SPEC, manage_dashboard


def main():
    GcpModule(**DASHBOARD_SPEC).run(manage_dashboard)


if __name__ == "__main__":
    main()
