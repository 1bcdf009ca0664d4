#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_service_info
short_description: Read a Cloud Run service, its revisions and its traffic
version_added: 0.1.0
description:
  - Returns the service, every revision with its readiness, image and creation time, and the traffic as served.
  - A missing service is not an error; RV(exists) says whether it was found.
author: AI Orchestra platform team (@ai-orchestra)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.cloud_run_service
  - orchestra.gcp.gcp.info_module
"""

EXAMPLES = r"""
- name: Read the service
  orchestra.gcp.cloud_run_service_info:
    name: ai-orchestra
    region: us-central1
  register: svc

- name: Show which revisions serve
  ansible.builtin.debug:
    msg: "{{ svc.traffic | map(attribute='revision') | list }}"
"""

RETURN = r"""
exists:
  description: Whether the service exists.
  returned: always
  type: bool
service:
  description: The service in the API's fields (snake_case), or null.
  returned: always
  type: dict
url:
  description: The service URL.
  returned: when the service exists
  type: str
latest_ready_revision:
  description: Short name of the latest revision that became ready.
  returned: when the service exists
  type: str
latest_created_revision:
  description: Short name of the latest revision created, ready or not.
  returned: when the service exists
  type: str
reconciling:
  description:
    - Whether Cloud Run is still rolling a change out. Until it is done, RV(latest_ready_revision), RV(traffic) and
      RV(url) hold the last serving state (transient values, as Google reports them).
  returned: when the service exists
  type: bool
  sample: false
stable_revision:
  description: The revision recorded as the rollback target, if any.
  returned: when the service exists
  type: str
revisions:
  description: Every revision, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Revision name., type: str}
    ready: {description: Whether the revision is ready to serve., type: bool}
    ready_message: {description: The reason given when it is not ready., type: str}
    create_time: {description: Creation time (RFC 3339)., type: str}
    image: {description: Image of its first container., type: str}
    percent: {description: Share of the traffic it serves., type: int}
    tags: {description: Traffic tags it holds., type: list, elements: str}
traffic:
  description:
    - The traffic as served (the service's traffic statuses), with the URL of each tag. Google leaves the revision out of
      a LATEST status; here C(revision) names the revision it routes to, the latest ready one.
  returned: always
  type: list
  elements: dict
  sample: [{type: LATEST, revision: ai-orchestra-00007-kiq, percent: 100, tag: null, uri: null}]
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._run import SERVICE_INFO_SPEC, describe_service


def main():
    GcpModule(**SERVICE_INFO_SPEC).run(describe_service)


if __name__ == "__main__":
    main()
