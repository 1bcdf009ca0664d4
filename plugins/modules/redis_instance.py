#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_instance
short_description: Create, change or delete a Memorystore for Redis instance
version_added: 0.4.0
description:
  - Manages a Memorystore for Redis instance (the v1 API) with its tier, memory size, Redis version, Redis configuration,
    replicas and read replicas, RDB persistence, maintenance window, AUTH, in-transit encryption, network and labels.
  - Only the options given are compared; the others are Google's to choose or keep. Every check runs before any call.
  - Memory size, Redis configuration, replicas, read replicas, persistence, maintenance window, AUTH, display name and
    labels change in place (one patch naming them). A higher O(redis_version) goes through Google's upgrade. The
    other options (tier, in-transit encryption, network, connect mode, reserved range, zones, key) are fixed when the
    instance is created; a task that changes one fails with a clear message unless O(recreate=true), which deletes the
    instance and creates it again, losing its data (back it up first with M(orchestra.gcp.redis_backup)).
  - An instance in a passing state (creating, updating, importing, failing over, in maintenance) is waited for before
    a change, as Google refuses one meanwhile.
  - The AUTH string is never read nor returned.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-redis >= 2.15
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
options:
  name:
    description: The instance ID; a lowercase letter, then up to 39 lowercase letters, digits and hyphens, not ending with a hyphen.
    type: str
    required: true
  region:
    description: The region of the instance, the region of the services that use it.
    type: str
    required: true
    aliases: [location]
  state:
    description: Whether the instance exists.
    type: str
    choices: [present, absent]
    default: present
  tier:
    description:
      - V(BASIC) is one node without a replica; V(STANDARD_HA) has a replica in another zone and fails over to it.
      - Required to create an instance. Fixed once created.
    type: str
    choices: [BASIC, STANDARD_HA]
  memory_size_gb:
    description: The memory size in GB, 1 to 300 for V(BASIC), 5 to 300 for V(STANDARD_HA). Required to create an instance.
    type: int
  redis_version:
    description:
      - The Redis version. Google's default for a new instance is V(REDIS_7_0). A later version than the live one is
        an upgrade; an earlier one needs O(recreate).
    type: str
    choices: [REDIS_3_2, REDIS_4_0, REDIS_5_0, REDIS_6_X, REDIS_7_0, REDIS_7_2]
  redis_configs:
    description:
      - The Redis parameters Memorystore takes (V(maxmemory-policy), V(maxmemory-gb), V(notify-keyspace-events),
        V(activedefrag), V(lfu-decay-time), V(lfu-log-factor), V(stream-node-max-bytes), V(stream-node-max-entries)), all
        of them; a parameter left out is reset.
    type: dict
  replica_count:
    description: The replicas of a V(STANDARD_HA) instance, 1, or 1 to 5 with O(read_replicas).
    type: int
  read_replicas:
    description: Whether the replicas of a V(STANDARD_HA) instance serve reads at the read endpoint.
    type: bool
  persistence:
    description: RDB persistence (snapshots Memorystore keeps to recover a node; not backups).
    type: dict
    suboptions:
      mode:
        description: V(RDB) for snapshots, V(DISABLED) for none.
        type: str
        required: true
        choices: [DISABLED, RDB]
      rdb_snapshot_period:
        description: How often a snapshot is taken, with O(persistence.mode=RDB).
        type: str
        choices: [ONE_HOUR, SIX_HOURS, TWELVE_HOURS, TWENTY_FOUR_HOURS]
  maintenance_window:
    description: The weekly hour (UTC) Google may start maintenance in.
    type: dict
    suboptions:
      day:
        description: The day of the week.
        type: str
        required: true
        choices: [MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY]
      hour:
        description: The hour it starts, 0 to 23.
        type: int
        required: true
      minute:
        description: The minute it starts, 0 to 59.
        type: int
        default: 0
  auth_enabled:
    description: Whether clients must send the instance's AUTH string (Google generates it; read it with gcloud redis instances get-auth-string).
    type: bool
  transit_encryption:
    description: Whether clients must connect over TLS (server authentication). Fixed once created.
    type: bool
  authorized_network:
    description: The VPC network the instance is reachable from (its name or full name). Google's default is V(default). Fixed once created.
    type: str
  connect_mode:
    description: How the network is connected. Fixed once created.
    type: str
    choices: [DIRECT_PEERING, PRIVATE_SERVICE_ACCESS]
  reserved_ip_range:
    description: The IP range of the instance, a /29 (a /28 with read replicas) or larger; Google chooses one when left out. Fixed once created.
    type: str
  zone:
    description: The zone of the primary node; Google chooses one when left out. Fixed once created.
    type: str
  alternative_zone:
    description: The zone of the replica of a V(STANDARD_HA) instance. Fixed once created.
    type: str
  customer_managed_key:
    description: A Cloud KMS key (its full name) that encrypts the instance's data. Fixed once created.
    type: str
  display_name:
    description: A name for people.
    type: str
  labels:
    description: Labels of the instance.
    type: dict
    default: {}
  purge_labels:
    description: Remove the live labels that O(labels) does not name.
    type: bool
    default: false
  recreate:
    description:
      - Delete the instance and create it again when an option fixed at creation differs (or the version goes down).
        Its data is lost; the services that use it cannot reach it until it is READY again.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Prod's Redis, highly available, with RDB snapshots and an eviction policy
  orchestra.gcp.redis_instance:
    name: orchestra
    region: europe-west1
    tier: STANDARD_HA
    memory_size_gb: 5
    replica_count: 2
    read_replicas: true
    redis_version: REDIS_7_2
    redis_configs:
      maxmemory-policy: volatile-lru
    persistence:
      mode: RDB
      rdb_snapshot_period: SIX_HOURS
    maintenance_window:
      day: SUNDAY
      hour: 3
    auth_enabled: true
    transit_encryption: true
    authorized_network: orchestra
"""

RETURN = r"""
instance:
  description: The instance as Google returns it (C(host), C(port), C(state), C(persistence_iam_identity), ...), with C(short_name); null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/locations/europe-west1/instances/orchestra
    short_name: orchestra
    tier: STANDARD_HA
    memory_size_gb: 5
    redis_version: REDIS_7_2
    host: 10.0.0.3
    port: 6379
    state: READY
    persistence_iam_identity: serviceAccount:service-123456789012@cloud-redis.iam.gserviceaccount.com
changed_options:
  description: The options that differed from the live instance.
  returned: when state is present
  type: list
  elements: str
recreated:
  description: Whether the instance was deleted and created again.
  returned: when state is present
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis import INSTANCE_SPEC, manage_instance


def main():
    GcpModule(**INSTANCE_SPEC).run(manage_instance)


if __name__ == "__main__":
    main()
