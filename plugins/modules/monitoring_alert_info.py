#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_alert_info
short_description: Read an environment's Cloud Monitoring alert policies, their thresholds, channels and recent alerts
version_added: 0.3.0
description:
  - Reads the alert policies carrying the user labels given, each with its conditions in plain terms (what is watched,
    the comparison, the threshold, for how long), the notification channels it notifies, and the alerts it opened in
    the last O(window) or that are still open (Cloud Monitoring's C(projects.alerts)).
  - Reads only; the same in check mode.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.info_module
options:
  user_labels:
    description: "The user labels a policy must carry to be read, like C({env: prod}); all policies when empty."
    type: dict
    default: {}
  window:
    description: How far back alerts count, seconds or a duration like V(90m) or V(1h).
    type: raw
    default: 1h
"""

EXAMPLES = r"""
- name: Read the production alerts and what fired in the last day
  orchestra.gcp.monitoring_alert_info:
    user_labels: {env: prod}
    window: 24h
  register: alerting
"""

RETURN = r"""
policies:
  description: The policies, by display name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The policy's resource name.
      type: str
    display_name:
      description: Its display name.
      type: str
    enabled:
      description: Whether it is evaluated.
      type: bool
    severity:
      description: CRITICAL, ERROR, WARNING, or null.
      type: str
    documentation:
      description: What the notifications say.
      type: str
    conditions:
      description: Each condition, with C(kind), C(filter), C(denominator_filter), C(comparison) (V(>)...), C(threshold),
        C(duration) (like V(5m)), C(aligner), C(reducer) and C(group_by).
      type: list
      elements: dict
    channels:
      description: The channels notified, each with C(name), C(display_name) and C(type).
      type: list
      elements: dict
    alerts:
      description: The alerts it opened in the window or still open, oldest first, each with C(state), C(open_time),
        C(close_time), C(resource_labels), C(metric_labels) and C(span) (seconds from the window's start to its opening and
        to its closing, or the window's end).
      type: list
      elements: dict
    fired:
      description: Whether it opened an alert in the window (or has one open).
      type: bool
    open:
      description: Whether one of its alerts is open.
      type: bool
window_seconds:
  description: The window, in seconds.
  returned: always
  type: int
since:
  description: The window's start (UTC, RFC 3339).
  returned: always
  type: str
until:
  description: The window's end, when the alerts were read.
  returned: always
  type: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import ALERT_INFO_SPEC, describe_alerting


def main():
    GcpModule(**ALERT_INFO_SPEC).run(describe_alerting)


if __name__ == "__main__":
    main()
