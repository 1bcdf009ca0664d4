#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: monitoring_uptime_check
short_description: Create, update or delete a Cloud Monitoring HTTP(S) uptime check
version_added: 0.3.0
description:
  - Manages a Cloud Monitoring uptime check that requests a URL from Google's checkers on a period, and passes when the
    answer comes within the timeout, with an accepted status and, if asked, a body containing a string. Each probe is a
    point of the C(monitoring.googleapis.com/uptime_check/check_passed) metric, whose C(metric.label.check_id) is the
    returned RV(check_id).
  - Google assigns a check's ID. The module finds its check by O(display_name) and the user label C(orchestra_id) it
    sets on it (a slug of the display name); a check without that label is not the module's.
  - Google does not update the host a check requests (its monitored resource); another host needs a new check, which
    has a new ID, and the module refuses such a change unless O(recreate=true). The rest (scheme, port, path,
    statuses, period, timeout, content matcher, regions, labels) is updated in place.
  - The check is compared on the fields the module sets; a check changed elsewhere is brought back.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  display_name:
    description: The check's name in the console, and with the C(orchestra_id) label its identity.
    type: str
    required: true
  state:
    description: Whether the check exists.
    type: str
    choices: [present, absent]
    default: present
  url:
    description:
      - The URL to check, V(https://HOST[:PORT]/PATH) or V(http://...). The host is the check's monitored resource
        (C(uptime_url)); the scheme, port and path its HTTP check (certificates are validated for https).
        Required when O(state=present).
    type: str
  period:
    description: How often the URL is checked, V(60s), V(5m), V(10m) or V(15m) (or in seconds), the periods Google allows.
    type: raw
    default: 60s
  timeout:
    description: How long a probe waits for the answer, from V(1s) to V(60s).
    type: raw
    default: 10s
  content_matcher:
    description: A string the body of the answer must contain; none by default.
    type: str
  accepted_status_classes:
    description: The classes of statuses that pass, among V(1xx), V(2xx), V(3xx), V(4xx), V(5xx) and V(any).
    type: list
    elements: str
    default: [2xx]
  regions:
    description:
      - The checker regions, among V(USA), V(EUROPE), V(SOUTH_AMERICA), V(ASIA_PACIFIC), V(USA_OREGON), V(USA_IOWA)
        and V(USA_VIRGINIA); together they must hold at least three checkers (V(USA) holds three, the others one).
        None (the default) is all of them.
    type: list
    elements: str
    default: []
  user_labels:
    description: Labels of the check, besides the module's C(orchestra_id). Those not given are removed.
    type: dict
    default: {}
  recreate:
    description:
      - When the host differs from the live check's, which Google cannot update, delete the check and create it again.
        Its RV(check_id) changes; alert policies and charts that filter on the old one must follow.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Check the production front door every minute
  orchestra.gcp.monitoring_uptime_check:
    display_name: Orchestra prod
    url: https://orchestra.example.com/healthz
    content_matcher: ok
    regions: [USA, EUROPE]
  register: uptime

- name: Alert when it fails
  orchestra.gcp.monitoring_alert_policy:
    display_name: Orchestra prod down
    conditions:
      - display_name: check failing
        filter: >-
          metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url"
          AND metric.label.check_id="{{ uptime.check_id }}"
        comparison: ">"
        threshold: 1
        duration: 5m
        alignment_period: 300s
        aligner: ALIGN_NEXT_OLDER
        reducer: REDUCE_COUNT_FALSE
        group_by: [resource.label.host]
"""

RETURN = r"""
uptime_check:
  description: The check as Google returns it; null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/uptimeCheckConfigs/orchestra-prod-ab12CD34ef5
    displayName: Orchestra prod
    monitoredResource:
      type: uptime_url
      labels:
        host: orchestra.example.com
        project_id: my-project
    httpCheck:
      path: /healthz
      port: 443
      useSsl: true
      validateSsl: true
    period: 60s
    timeout: 10s
check_id:
  description:
    - The last part of the check's name, the value of C(metric.label.check_id) in its C(uptime_check/check_passed)
      series; null once deleted, or in check mode before it is created.
  returned: always
  type: str
  sample: orchestra-prod-ab12CD34ef5
changed_options:
  description: The fields that differed from the live check (all of them for a new one).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import UPTIME_SPEC, manage_uptime_check


def main():
    GcpModule(**UPTIME_SPEC).run(manage_uptime_check)


if __name__ == "__main__":
    main()
