#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_cluster
short_description: Create, change or delete a Memorystore for Redis Cluster
version_added: 0.4.0
description:
  - Manages a Memorystore for Redis Cluster (the v1 API) with its shard count, replicas per shard, node type, persistence
    (RDB or AOF), Redis configuration, automated backups and their retention, deletion protection, network,
    authorization and in-transit encryption modes, zone distribution and key.
  - Only the options given are compared; the others are Google's to choose or keep. Every check runs before any call.
  - Shard count, replicas, node type, persistence, Redis configuration, automated backups and deletion protection change
    in place. Google takes one update mask path per patch, so each changed option is its own patch, run one after the
    other (deletion protection first); a run stopped half way leaves the options patched so far, and the next run
    patches the rest.
  - The network, authorization mode, in-transit encryption, zone distribution and key are fixed when the cluster is
    created; a task that changes one fails with a clear message unless O(recreate=true), which deletes the cluster and
    creates it again, losing its data (take a backup first with M(orchestra.gcp.redis_cluster_backup)).
  - A cluster with deletion protection is deleted (or recreated) only by a task that also sets O(deletion_protection=false),
    which turns it off first.
  - A cluster that is being created or updated is waited for before a change, as Google refuses one meanwhile.
  - Labels are not managed, since the Cluster of google-cloud-redis-cluster has no labels field.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-redis-cluster >= 0.5
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
notes:
  - Operations are polled as plain JSON through Google's discovery client, because the client library cannot read a done
    cluster operation whose Cluster holds fields its protos lack.
  - O(wait=false) returns after the last call is accepted; a task with several patches still waits for each but the last,
    since Google refuses a patch while the cluster is updating.
options:
  name:
    description: The cluster ID; a lowercase letter, then up to 62 lowercase letters, digits and hyphens, not ending with a hyphen.
    type: str
    required: true
  region:
    description: The region of the cluster.
    type: str
    required: true
    aliases: [location]
  state:
    description: Whether the cluster exists.
    type: str
    choices: [present, absent]
    default: present
  shard_count:
    description: The number of shards, 1 to 250; each holds a range of the 16384 slots. Required to create a cluster. A change moves slots and keys.
    type: int
  replica_count:
    description: Replica nodes per shard, 0 to 2. Google's default is 0 (no high availability, no SLA).
    type: int
  node_type:
    description:
      - The node type of every shard. Google's default is V(REDIS_HIGHMEM_MEDIUM) (13 GB a node); V(REDIS_SHARED_CORE_NANO)
        1.4 GB, V(REDIS_STANDARD_SMALL) 6.5 GB, V(REDIS_HIGHMEM_XLARGE) 58 GB.
    type: str
    choices: [REDIS_SHARED_CORE_NANO, REDIS_STANDARD_SMALL, REDIS_HIGHMEM_MEDIUM, REDIS_HIGHMEM_XLARGE, REDIS_HIGHCPU_MEDIUM, REDIS_STANDARD_LARGE,
              REDIS_HIGHMEM_2XLARGE]
  redis_configs:
    description:
      - The Redis parameters a cluster takes (V(maxmemory-policy), V(maxmemory-clients), V(maxclients),
        V(notify-keyspace-events), V(slowlog-log-slower-than)), all of them; a parameter left out is reset.
    type: dict
  persistence:
    description: How the nodes persist their data (snapshots Memorystore keeps to recover a node; not backups).
    type: dict
    suboptions:
      mode:
        description: V(RDB) snapshots, V(AOF) an append-only file, or V(DISABLED).
        type: str
        required: true
        choices: [DISABLED, RDB, AOF]
      rdb_snapshot_period:
        description: How often a snapshot is taken, with O(persistence.mode=RDB).
        type: str
        choices: [ONE_HOUR, SIX_HOURS, TWELVE_HOURS, TWENTY_FOUR_HOURS]
      aof_append_fsync:
        description: How often the append-only file is synced, with O(persistence.mode=AOF).
        type: str
        choices: ["NO", EVERYSEC, ALWAYS]
  automated_backups:
    description: Daily managed backups Google takes and deletes after their retention.
    type: dict
    suboptions:
      enabled:
        description: Whether Google takes them.
        type: bool
        required: true
      start_hour:
        description: The hour (UTC, 0 to 23) each day's backup starts; Google needs one, 0 when left out on a new schedule.
        type: int
      retention:
        description: How long Google keeps each (V(14d), V(336h)), 1 to 365 days.
        type: str
  deletion_protection:
    description: Whether Google refuses to delete the cluster.
    type: bool
  network:
    description:
      - The VPC network clients reach the cluster from, by Private Service Connect (its name in the project, or
        C(projects/P/global/networks/N)); the network needs a service connection policy for C(gcp-memorystore-redis).
      - Required to create a cluster. Fixed once created.
    type: str
  authorization_mode:
    description: V(IAM_AUTH) to require IAM authentication, V(DISABLED) for none (Google's default). Fixed once created.
    type: str
    choices: [DISABLED, IAM_AUTH]
  transit_encryption:
    description: Whether clients must connect over TLS (server authentication). Fixed once created.
    type: bool
  zone_distribution:
    description: Nodes spread over the region's zones (V(MULTI_ZONE), Google's default) or in one zone. Fixed once created.
    type: dict
    suboptions:
      mode:
        description: V(MULTI_ZONE) or V(SINGLE_ZONE).
        type: str
        required: true
        choices: [MULTI_ZONE, SINGLE_ZONE]
      zone:
        description: The zone of a V(SINGLE_ZONE) cluster, in O(region).
        type: str
  kms_key:
    description: A Cloud KMS key (its full name) that encrypts the data at rest. Fixed once created.
    type: str
  recreate:
    description:
      - Delete the cluster and create it again when an option fixed at creation differs. Its data is lost; the
        services that use it cannot reach it until it is ACTIVE again, at a new discovery endpoint.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Prod's Redis Cluster, 3 shards with a replica each, AOF, daily backups kept 14 days, protected from deletion
  orchestra.gcp.redis_cluster:
    name: orchestra
    region: europe-west1
    network: orchestra
    shard_count: 3
    replica_count: 1
    node_type: REDIS_STANDARD_SMALL
    persistence:
      mode: AOF
      aof_append_fsync: EVERYSEC
    redis_configs:
      maxmemory-policy: volatile-lru
    automated_backups:
      enabled: true
      start_hour: 3
      retention: 14d
    transit_encryption: true
    deletion_protection: true

- name: Delete a test cluster, turning its deletion protection off first
  orchestra.gcp.redis_cluster:
    name: scratch
    region: europe-west1
    state: absent
    deletion_protection: false
"""

RETURN = r"""
cluster:
  description: The cluster as Google returns it (C(discovery_endpoints), C(state), C(size_gb), C(backup_collection), ...), with
    C(short_name) and C(endpoint) (the discovery endpoint as host:port); null once deleted.
  returned: always
  type: dict
  sample:
    name: projects/my-project/locations/europe-west1/clusters/orchestra
    short_name: orchestra
    endpoint: 10.0.0.5:6379
    shard_count: 3
    replica_count: 1
    node_type: REDIS_STANDARD_SMALL
    size_gb: 20
    state: ACTIVE
changed_options:
  description: The options that differed from the live cluster.
  returned: when state is present
  type: list
  elements: str
recreated:
  description: Whether the cluster was deleted and created again.
  returned: when state is present
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_cluster import CLUSTER_SPEC, manage_cluster


def main():
    GcpModule(**CLUSTER_SPEC).run(manage_cluster)


if __name__ == "__main__":
    main()
