#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_audit_config
short_description: Turn on Data Access audit logs of one service on a project
version_added: 0.3.0
description:
  - Manages the audit config of one service in the IAM policy of the project (O(project)), that is the log types recorded and
    the members exempted from each. The config of that service is made exactly as given; other services' configs and
    the policy's bindings are left as they are.
  - The policy is read at version 3 and written with an update mask naming C(auditConfigs), guarded by its etag; a
    concurrent change is read again and the config set on top of it, a bounded number of times with backoff.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-resource-manager >= 1.12
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  service:
    description: V(allServices) or an API, like V(secretmanager.googleapis.com).
    type: str
    required: true
  log_configs:
    description: The log types recorded, each with the members exempted from it; needed with O(state=present).
    type: list
    elements: dict
    default: []
    suboptions:
      log_type:
        description: The kind of access logged.
        type: str
        required: true
        choices: [ADMIN_READ, DATA_READ, DATA_WRITE]
      exempted_members:
        description: Principals whose access of that kind is not logged.
        type: list
        elements: str
        default: []
  state:
    description: Whether the service has an audit config. V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Log who reads secrets, but not the deployer's reads
  orchestra.gcp.iam_audit_config:
    service: secretmanager.googleapis.com
    log_configs:
      - log_type: DATA_READ
        exempted_members: [serviceAccount:deployer@orchestra-prod.iam.gserviceaccount.com]
      - log_type: ADMIN_READ
"""

RETURN = r"""
resource:
  description: The project's full name.
  returned: always
  type: str
  sample: projects/orchestra-prod
audit_config:
  description: The service's audit config after the task (predicted in check mode), or null when it has none.
  returned: always
  type: dict
  sample: {service: secretmanager.googleapis.com, auditLogConfigs: [{logType: DATA_READ}]}
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam import AUDIT_SPEC, manage_audit_config


def main():
    GcpModule(**AUDIT_SPEC).run(manage_audit_config)


if __name__ == "__main__":
    main()
