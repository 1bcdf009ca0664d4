#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_backup
short_description: Back up a Memorystore for Redis instance to Cloud Storage, with retention
version_added: 0.4.0
description:
  - Exports the instance's data (an RDB file) to C(<id>.rdb) in the bucket, reads it back, hashes it and checks it
    with C(redis-check-rdb), then writes a manifest beside it (C(<id>.json)) with the time, the source instance, its
    Redis version, the RDB's size, sha256 and generation, and its key count. The id is the export's start time (UTC).
  - A backup without a manifest (an export that failed or was cut short) is never listed as complete nor restored.
  - With O(min_interval), a run within that time of the newest complete backup changes nothing.
  - With O(retention), after a successful backup only, the backups that grandfather-father-son retention does not
    keep are deleted (the manifest first), and so are incomplete backups older than the new one. The newest backup
    and the newest verified one are always kept.
  - Needs C(redis-check-rdb) (Debian's redis-tools) where it runs. The instance's persistence identity (the
    C(persistence_iam_identity) M(orchestra.gcp.redis_instance) returns) needs C(roles/storage.objectAdmin) on the bucket.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-redis >= 2.15
  - google-api-python-client >= 2.100
  - redis-check-rdb (redis-tools)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.redis_backup
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
options:
  min_interval:
    description: Take no backup when the newest complete one is younger than this (V(6h), V(30m), V(86400) seconds).
    type: str
  retention:
    description:
      - Grandfather-father-son retention. Each tier keeps the newest backup of each of its N most recent periods that
        hold a backup (UTC hours, days, ISO weeks, months); a backup that failed verification is kept only when its
        period has no other.
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
- name: Back up prod's Redis every 6 hours at most, keeping 7 daily, 4 weekly and 6 monthly backups
  orchestra.gcp.redis_backup:
    instance: orchestra
    region: europe-west1
    bucket: my-project-orchestra-backups
    min_interval: 6h
    retention:
      hourly: 4
      daily: 7
      weekly: 4
      monthly: 6
"""

RETURN = r"""
backup:
  description: The backup taken, or the newest one when none was needed; null in check mode.
  returned: always
  type: dict
  sample:
    id: 20261201T060000Z
    time: "2026-12-01T06:00:00Z"
    uri: gs://my-project-orchestra-backups/redis/europe-west1/orchestra/20261201T060000Z.rdb
    complete: true
    verified: null
    size: 209715200
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    key_count: 1048576
    redis_version: REDIS_7_2
pruned:
  description: The ids of the backups deleted by retention, and of incomplete ones left by earlier runs.
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
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_backup import BACKUP_SPEC, backup_instance


def main():
    GcpModule(**BACKUP_SPEC).run(backup_instance)


if __name__ == "__main__":
    main()
