#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpc_access_connector
short_description: Create or delete a Serverless VPC Access connector
version_added: 0.3.0
description:
  - Manages a Serverless VPC Access connector, the regional group of VMs through which a Cloud Run service sends
    traffic into a VPC network (for example to Memorystore Redis), on a network with an unused /28 range or on an
    existing /28 subnet.
  - Only the options given are compared; the others are Google's to choose. Every check runs before any call.
  - Google's client cannot change a connector once it exists. A connector that differs from its options fails with a
    clear message unless O(recreate=true), which deletes it and creates it again.
  - Direct VPC egress (O(orchestra.gcp.cloud_run_service#module:network_interfaces)) needs no connector.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-vpc-access >= 1.10
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
options:
  name:
    description:
      - The connector ID; lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen,
        under 21 characters with each hyphen counting as two.
    type: str
    required: true
  region:
    description: The region of the connector, the region of the services that use it.
    type: str
    required: true
    aliases: [location]
  state:
    description: Whether the connector exists.
    type: str
    choices: [present, absent]
    default: present
  network:
    description: The VPC network (its name) the connector reaches, with O(ip_cidr_range). Exclusive with O(subnet).
    type: str
  ip_cidr_range:
    description: An unused /28 range of O(network) for the connector's VMs, like V(10.8.0.0/28).
    type: str
  subnet:
    description: An existing /28 subnet (its name) that nothing else uses. Exclusive with O(network).
    type: str
  subnet_project:
    description: The project of O(subnet) (a Shared VPC host project). Left out, the connector's project.
    type: str
  machine_type:
    description: The machine type of the connector's VMs. Google's default is V(e2-micro).
    type: str
    choices: [e2-micro, f1-micro, e2-standard-4]
  min_instances:
    description: The fewest VMs, from 2 to 9, fewer than O(max_instances).
    type: int
  max_instances:
    description: The most VMs, from 3 to 10. A connector does not scale down.
    type: int
  min_throughput:
    description: Deprecated by Google in favour of O(min_instances); Mbps, a multiple of 100 from 200 through 900.
    type: int
  max_throughput:
    description: Deprecated by Google in favour of O(max_instances); Mbps, a multiple of 100 from 300 through 1000.
    type: int
  recreate:
    description:
      - Delete the connector and create it again when it differs from its options, or when it is in state ERROR (as
        Google recommends for one). The services that use it cannot reach the VPC until it is READY again.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The connector through which the dev service reaches Redis
  orchestra.gcp.vpc_access_connector:
    name: orchestra-redis
    region: europe-west1
    network: orchestra
    ip_cidr_range: 10.8.0.0/28
    min_instances: 2
    max_instances: 3
"""

RETURN = r"""
connector:
  description: The connector as Google returns it, with C(short_name); null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/locations/europe-west1/connectors/orchestra-redis
    short_name: orchestra-redis
    network: orchestra
    ip_cidr_range: 10.8.0.0/28
    machine_type: e2-micro
    min_instances: 2
    max_instances: 3
    state: READY
changed_options:
  description: The options that differed from the live connector.
  returned: when state is present
  type: list
  elements: str
recreated:
  description: Whether the connector was deleted and created again.
  returned: when state is present
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._vpc import CONNECTOR_SPEC, manage_connector


def main():
    GcpModule(**CONNECTOR_SPEC).run(manage_connector)


if __name__ == "__main__":
    main()
