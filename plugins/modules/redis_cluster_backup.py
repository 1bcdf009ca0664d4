#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_cluster_backup
short_description: Take an on-demand managed backup of a Memorystore for Redis Cluster, with retention
version_added: 0.4.0
description:
  - Asks Memorystore for an on-demand managed backup of the cluster (an RDB file per shard, kept by Google in the
    cluster's backup collection) and waits until it is ACTIVE.
  - With O(min_interval), a run within that time of the newest complete backup changes nothing.
  - With O(retention), after a successful backup only, the cluster's managed backups (on-demand and automated) that
    grandfather-father-son retention does not keep are deleted. The newest backup is always kept; backups still being
    created take no part.
  - A separate module from M(orchestra.gcp.redis_cluster), which describes what the cluster is. A backup is an action
    taken on a schedule, with its own options (TTL, interval, retention) and result, and would make every run of a
    declarative task a change.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-redis-cluster >= 0.5
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
options:
  name:
    description: The cluster (its ID).
    type: str
    required: true
  region:
    description: The region of the cluster.
    type: str
    required: true
    aliases: [location]
  ttl:
    description: How long Google keeps the new backup (V(30d), V(720h)), 1 day to 100 years; Google's default is 100 years.
    type: str
  min_interval:
    description: Take no backup when the newest complete one is younger than this (V(6h), V(30m), V(86400) seconds).
    type: str
  retention:
    description:
      - Grandfather-father-son retention over the cluster's managed backups. Each tier keeps the newest backup of each
        of its N most recent periods that hold a backup (UTC hours, days, ISO weeks, months).
    type: dict
    suboptions:
      hourly:
        description: Hours to keep one backup of.
        type: int
        default: 0
      daily:
        description: Days to keep one backup of.
        type: int
        default: 0
      weekly:
        description: Weeks to keep one backup of.
        type: int
        default: 0
      monthly:
        description: Months to keep one backup of.
        type: int
        default: 0
"""

EXAMPLES = r"""
- name: Back up prod's Redis Cluster every 6 hours at most, keeping 4 hourly, 7 daily and 4 weekly backups
  orchestra.gcp.redis_cluster_backup:
    name: orchestra
    region: europe-west1
    min_interval: 6h
    ttl: 90d
    retention:
      hourly: 4
      daily: 7
      weekly: 4
"""

RETURN = r"""
backup:
  description: The backup taken, or the newest one when none was needed; null in check mode.
  returned: always
  type: dict
  sample:
    name: projects/my-project/locations/europe-west1/backupCollections/5f0c.../backups/20261201060000_5f0c3a1e
    id: 20261201060000_5f0c3a1e
    time: "2026-12-01T06:00:00Z"
    type: ON_DEMAND
    state: ACTIVE
    total_size_bytes: 209715200
    shard_count: 3
    expire_time: "2027-03-01T06:00:00Z"
pruned:
  description: The ids of the backups deleted by retention (in check mode, those it would delete).
  returned: always
  type: list
  elements: str
not_taken:
  description: Why no backup was taken (O(min_interval)); null when one was.
  returned: always
  type: str
retention:
  description: The policy applied, the ids kept and why each was.
  returned: when a backup was taken with O(retention)
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_cluster import BACKUP_SPEC, backup_cluster


def main():
    GcpModule(**BACKUP_SPEC).run(backup_cluster)


if __name__ == "__main__":
    main()
