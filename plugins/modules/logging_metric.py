#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: logging_metric
short_description: Create, update or delete a Cloud Logging log-based metric
version_added: 0.3.0
description:
  - Manages a user-defined log-based metric of Cloud Logging, a counter (V(INT64)) of the log entries a filter matches or a
    distribution (V(DISTRIBUTION)) of a value extracted from them, with labels extracted from each entry.
  - The metric is named by the task; its time series are of the metric type C(logging.googleapis.com/user/NAME).
  - Only what the task declares is compared; what Google fills in (the metric descriptor's name, type and display name, the
    creation and update times) is not. A metric changed elsewhere is brought back to the task's options.
  - Google refuses to change the value type of an existing metric, to remove one of its labels or to change a label's value
    type. The module refuses such a change too, unless O(recreate) lets it delete the metric and create it again.
  - Every check runs before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  name:
    description:
      - The metric's ID, at most 100 of C(A-Z), C(a-z), C(0-9) and C(_-.,+!*',()%/), not starting with C(/)
        (a C(/) makes a hierarchy, like V(orchestra/errors)).
    type: str
    required: true
  state:
    description: Whether the metric exists.
    type: str
    choices: [present, absent]
    default: present
  filter:
    description:
      - The logs filter of the entries the metric counts, like V(resource.type="cloud_run_revision" AND severity>=ERROR).
      - Required when O(state=present).
    type: str
  description:
    description: What the metric measures, at most 8000 characters.
    type: str
    default: ""
  disabled:
    description: Whether the metric is disabled (it then writes no points).
    type: bool
    default: false
  labels:
    description:
      - Labels of the metric's time series, at most 10, each extracted from the log entry.
      - Google never removes a label nor changes its value type; their extractor and description can change.
    type: list
    elements: dict
    default: []
    suboptions:
      key:
        description: The label's key, a letter then at most 99 letters, digits or C(_).
        type: str
        required: true
      value_type:
        description: The label's type.
        type: str
        choices: [STRING, BOOL, INT64]
        default: STRING
      description:
        description: What the label holds.
        type: str
        default: ""
      extractor:
        description:
          - Where the label's value comes from, V(EXTRACT(field)) or V(REGEXP_EXTRACT(field, "regex")) with exactly one capture
            group, like V(EXTRACT(protoPayload.authenticationInfo.principalEmail)).
        type: str
        required: true
  value_type:
    description:
      - V(INT64) counts the matching entries. V(DISTRIBUTION) records the values O(value_extractor) extracts, in O(buckets).
    type: str
    choices: [INT64, DISTRIBUTION]
    default: INT64
  value_extractor:
    description:
      - For a V(DISTRIBUTION), the value of each entry, V(EXTRACT(field)) or V(REGEXP_EXTRACT(field, "regex")) with exactly one
        capture group.
    type: str
  buckets:
    description:
      - For a V(DISTRIBUTION), the histogram's buckets, exactly one of C(exponential) (C(count), C(growth_factor) above 1,
        C(scale) above 0), C(linear) (C(count), C(width) above 0, C(offset)) or C(explicit) (a list of increasing bounds).
    type: dict
  unit:
    description: The unit of the values, like V(1) (a count) or V(ms).
    type: str
    default: "1"
  recreate:
    description:
      - When the task changes what Google cannot change on an existing metric (its value type, a label's removal or value type),
        delete the metric and create it again. Its past data is lost.
      - When false, such a change fails and nothing is changed.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Count the secrets read, by who read them
  orchestra.gcp.logging_metric:
    name: orchestra/secret_access
    description: Secret Manager versions accessed
    filter: protoPayload.methodName="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"
    labels:
      - key: principal
        description: Who read the secret
        extractor: EXTRACT(protoPayload.authenticationInfo.principalEmail)

- name: Distribution of the latency the service logs
  orchestra.gcp.logging_metric:
    name: orchestra/latency
    filter: resource.type="cloud_run_revision" AND jsonPayload.latency_ms:*
    value_type: DISTRIBUTION
    value_extractor: EXTRACT(jsonPayload.latency_ms)
    unit: ms
    buckets:
      exponential: {count: 64, growth_factor: 1.4, scale: 1}
"""

RETURN = r"""
metric:
  description: The metric as Google returns it; null once deleted. In check mode, the metric the task would write.
  returned: always
  type: dict
  sample:
    name: orchestra/secret_access
    filter: protoPayload.methodName="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"
    metricDescriptor:
      type: logging.googleapis.com/user/orchestra/secret_access
      metricKind: DELTA
      valueType: INT64
      unit: "1"
    createTime: "2026-01-01T12:00:00.123456Z"
    updateTime: "2026-01-01T12:00:00.123456Z"
metric_type:
  description: The metric type of the metric's time series, to chart or alert on.
  returned: always
  type: str
  sample: logging.googleapis.com/user/orchestra/secret_access
changed_options:
  description: The options that differed from the live metric (all of them for a new one).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._logging import METRIC_SPEC, manage_metric


def main():
    GcpModule(**METRIC_SPEC).run(manage_metric)


if __name__ == "__main__":
    main()
