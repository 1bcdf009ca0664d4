#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_alert_policy
short_description: Create, update or delete a Cloud Monitoring alert policy
version_added: 0.3.0
description:
  - Manages a Cloud Monitoring alert policy of threshold and absence conditions on metrics, and the notification
    channels it notifies.
  - Google assigns a policy's ID. The module finds its policy by O(display_name) and the user label C(orchestra_id)
    it sets on it (a slug of the display name); a policy without that label is not the module's.
  - The policy is compared whole. A policy changed elsewhere (in the console, by another tool) is brought back to the
    task's options.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  display_name:
    description: The policy's name in the console, and with the C(orchestra_id) label its identity.
    type: str
    required: true
  state:
    description: Whether the policy exists.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: Whether the policy is evaluated.
    type: bool
    default: true
  combiner:
    description: How the conditions combine, V(OR), V(AND) or V(AND_WITH_MATCHING_RESOURCE).
    type: str
    default: OR
  severity:
    description: The severity of the incidents, V(CRITICAL), V(ERROR) or V(WARNING).
    type: str
  documentation:
    description: Markdown sent with each notification.
    type: str
  notification_channels:
    description: The display names of the notification channels to notify; each must name exactly one channel.
    type: list
    elements: str
    default: []
  user_labels:
    description: Labels of the policy, besides the module's C(orchestra_id). Those not given are removed.
    type: dict
    default: {}
  conditions:
    description: From one to six conditions.
    type: list
    elements: dict
    default: []
    suboptions:
      display_name:
        description: The condition's name, unique in the policy.
        type: str
        required: true
      kind:
        description: V(threshold) (the series crosses O(conditions[].threshold)) or V(absent) (no data).
        type: str
        choices: [threshold, absent]
        default: threshold
      filter:
        description: The time series, like V(metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision").
        type: str
      denominator_filter:
        description:
          - For a threshold on a ratio, the time series the O(conditions[].filter) series are divided by, aggregated alike
            (the same alignment, aligner, reducer and grouping), like the 5xx requests of a service over all its requests.
        type: str
      comparison:
        description: For a threshold, V(>), V(>=), V(<), V(<=), V(==), V(!=) or Google's name (V(COMPARISON_GT)...).
        type: str
      threshold:
        description: For a threshold, the number the series is compared with.
        type: raw
      duration:
        description: How long the condition must hold, in whole minutes, like V(300s) or V(5m).
        type: raw
        default: 0s
      alignment_period:
        description: The period each series is aligned over, whole minutes and at least V(60s).
        type: raw
      aligner:
        description: The per-series aligner, like V(ALIGN_RATE); needs O(conditions[].alignment_period).
        type: str
      reducer:
        description: The cross-series reducer, like V(REDUCE_SUM); needs an aligner other than V(ALIGN_NONE).
        type: str
      group_by:
        description: The fields the reducer groups by.
        type: list
        elements: str
        default: []
      trigger_count:
        description: How many series must meet the condition.
        type: int
"""

EXAMPLES = r"""
- name: Alert on server errors
  orchestra.gcp.monitoring_alert_policy:
    display_name: Orchestra 5xx
    notification_channels: [Orchestra on-call]
    conditions:
      - display_name: 5xx rate
        filter: metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND metric.label.response_code_class="5xx"
        comparison: ">"
        threshold: 1
        duration: 5m
        alignment_period: 60s
        aligner: ALIGN_RATE
        reducer: REDUCE_SUM
"""

RETURN = r"""
policy:
  description: The policy as Google returns it; null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/alertPolicies/1234567890123456789
    displayName: Orchestra 5xx
    combiner: OR
    enabled: true
changed_options:
  description: The fields that differed from the live policy (all of them for a new one).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import POLICY_SPEC, manage_policy


def main():
    GcpModule(**POLICY_SPEC).run(manage_policy)


if __name__ == "__main__":
    main()
