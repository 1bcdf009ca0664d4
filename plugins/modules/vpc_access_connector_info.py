#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpc_access_connector_info
short_description: Read a Serverless VPC Access connector and tell whether traffic can go through it
version_added: 0.3.0
description:
  - Returns whether the connector exists, its state and its options (as M(orchestra.gcp.vpc_access_connector) takes
    them). A health check before a rollout - RV(ready) is true only for a READY connector; otherwise RV(problem)
    names the connector, its state and what to do.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-vpc-access >= 1.10
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.info_module
options:
  name:
    description: The connector ID.
    type: str
    required: true
  region:
    description: The region of the connector.
    type: str
    required: true
    aliases: [location]
"""

EXAMPLES = r"""
- name: Is the path to Redis healthy?
  orchestra.gcp.vpc_access_connector_info:
    name: orchestra-redis
    region: europe-west1
  register: connector

- name: Stop before any change when it is not
  ansible.builtin.fail:
    msg: "{{ connector.problem }}"
  when: not connector.ready
"""

RETURN = r"""
exists:
  description: Whether the connector exists.
  returned: always
  type: bool
state:
  description: Its state (READY, CREATING, UPDATING, DELETING or ERROR); null when it does not exist.
  returned: always
  type: str
ready:
  description: Whether it is READY, so that a service can send traffic through it.
  returned: always
  type: bool
problem:
  description: When not ready, one sentence naming the connector, its state and what to do; else null.
  returned: always
  type: str
  sample: "connector orchestra-redis in europe-west1 is ERROR: its VMs are unhealthy and Google recommends deleting it. ..."
connector:
  description: The connector as Google returns it, with C(short_name); null when it does not exist.
  returned: always
  type: dict
options:
  description: Its options as M(orchestra.gcp.vpc_access_connector) takes them; null when it does not exist.
  returned: always
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._vpc import INFO_SPEC, describe_connector


def main():
    GcpModule(**INFO_SPEC).run(describe_connector)


if __name__ == "__main__":
    main()
