#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_backup_verify
short_description: Verify a Redis backup against an instance it was restored into, and record the result
version_added: 0.4.0
description:
  - Downloads the backup's RDB, checks its sha256 and key count against its manifest and checks it with
    C(redis-check-rdb), loads it into a C(redis-server) on this machine as the reference, and compares it with the
    instance at O(target_host) (a scratch instance the backup was restored into with M(orchestra.gcp.redis_restore)).
    The keys without an expiry must be as many; O(sample) keys drawn from the reference must have the same type,
    value and expiry on the target (a key with an expiry may have expired since).
  - Records the result in the backup's manifest (guarded by its generation), and fails when the verification fails.
  - Needs C(redis-server) and C(redis-check-rdb) where it runs, and the target reachable from there.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client >= 2.100
  - redis >= 5 (Python)
  - redis-server and redis-check-rdb
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.redis_backup
  - orchestra.gcp.gcp.attributes
options:
  backup:
    description: The backup's id, or V(newest) (the default).
    type: str
  target_host:
    description: The address of the instance the backup was restored into (RV(orchestra.gcp.redis_instance#module:instance.host)).
    type: str
    required: true
  target_port:
    description: Its port.
    type: int
    default: 6379
  target_password:
    description: Its AUTH string, when it has one.
    type: str
  sample:
    description: How many keys to compare value by value, 1 to 10000.
    type: int
    default: 100
"""

EXAMPLES = r"""
- name: Compare the newest backup with the scratch instance it was restored into
  orchestra.gcp.redis_backup_verify:
    instance: orchestra
    region: europe-west1
    bucket: my-project-orchestra-backups
    target_host: "{{ scratch.instance.host }}"
    target_port: "{{ scratch.instance.port }}"
"""

RETURN = r"""
backup:
  description: The backup, with its verification as recorded.
  returned: always
  type: dict
passed:
  description: Whether the verification passed.
  returned: always
  type: bool
mismatches:
  description: What differed (at most 20 lines; key names, never values).
  returned: always
  type: list
  elements: str
measured:
  description: The key counts of the backup and the target, and how many keys were compared.
  returned: when the data was compared
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_backup import VERIFY_SPEC, verify_backup


def main():
    GcpModule(**VERIFY_SPEC).run(verify_backup)


if __name__ == "__main__":
    main()
