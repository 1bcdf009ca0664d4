#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_backup_info
short_description: List the backups of a Memorystore for Redis instance
version_added: 0.4.0
description:
  - The backups M(orchestra.gcp.redis_backup) keeps in Cloud Storage for an instance, newest first, each with its
    manifest's facts, whether it is complete and why not, and its verification state.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.redis_backup
  - orchestra.gcp.gcp.info_module
"""

EXAMPLES = r"""
- name: The catalog of prod's Redis backups
  orchestra.gcp.redis_backup_info:
    instance: orchestra
    region: europe-west1
    bucket: my-project-orchestra-backups
  register: catalog
"""

RETURN = r"""
backups:
  description:
    - Every backup, newest first (see RV(orchestra.gcp.redis_backup#module:backup) for the fields).
    - C(verified) is true, false or null (never verified).
  returned: always
  type: list
  elements: dict
newest:
  description: The newest complete backup, or null.
  returned: always
  type: dict
newest_verified:
  description: The newest complete backup whose verification passed, or null.
  returned: always
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._redis_backup import INFO_SPEC, describe_backups


def main():
    GcpModule(**INFO_SPEC).run(describe_backups)


if __name__ == "__main__":
    main()
