#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_restore
short_description: Restore a backup into a Memorystore for Redis instance
version_added: 0.4.0
description:
  - Imports a backup taken by M(orchestra.gcp.redis_backup) into the instance (or into O(target)), replacing all
    of its data. Refuses unless O(confirm) names the instance that is overwritten, refuses an incomplete backup and one
    that failed its verification, and first takes a safety backup of the instance as it is (unless
    O(safety_backup=false)).
  - Every check runs before any change; check mode says what would be restored and changes nothing.
  - Each run imports again, so a run that was cut short is completed by running it again.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-redis >= 2.15
  - google-api-python-client >= 2.100
  - redis-check-rdb (redis-tools), for the safety backup
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.redis_backup
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.wait
options:
  backup:
    description: The backup's id (V(20261201T060000Z)), V(newest) or V(newest_verified).
    type: str
    required: true
  target:
    description: The instance to restore into, in the same region; left out, O(instance) itself.
    type: str
  confirm:
    description: The name of the instance that is overwritten, to confirm that its data is replaced.
    type: str
  safety_backup:
    description: Back up the instance that is overwritten first (in its own folder of the bucket).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Restore prod's Redis from its newest verified backup
  orchestra.gcp.redis_restore:
    instance: orchestra
    region: europe-west1
    bucket: my-project-orchestra-backups
    backup: newest_verified
    confirm: orchestra
"""

RETURN = r"""
restored:
  description: The backup restored (see RV(orchestra.gcp.redis_backup#module:backup)).
  returned: always
  type: dict
safety_backup:
  description: The backup taken of the instance before the restore, or null.
  returned: always
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_backup import RESTORE_SPEC, restore_instance


def main():
    GcpModule(**RESTORE_SPEC).run(restore_instance)


if __name__ == "__main__":
    main()
