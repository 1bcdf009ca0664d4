#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret_info
short_description: Read Secret Manager secrets and their versions, never their values
version_added: 0.2.0
description:
  - Returns one secret (O(name)) or the secrets a O(filter) selects (all without one), each with its settings, its
    aliases and its versions (number, state, times), newest first. It never reads a payload.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-secret-manager >= 2.20
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.info_module
options:
  name:
    description: The secret ID.
    type: str
  filter:
    description: A Secret Manager list filter, like V(labels.app=ai-orchestra).
    type: str
  versions:
    description: List each secret's versions.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Which versions of the database password are enabled, and which one is current
  orchestra.gcp.secret_info:
    name: db-password
  register: db_password
"""

RETURN = r"""
exists:
  description: Whether any secret was found.
  returned: always
  type: bool
secrets:
  description: The secrets found, each with C(options) (as M(orchestra.gcp.secret) takes them) and C(versions).
  returned: always
  type: list
  elements: dict
  sample:
    - name: projects/123456789012/secrets/db-password
      short_name: db-password
      options: {version_aliases: {current: 2}, rotation_period: 2592000}
      versions:
        - {version: 2, state: ENABLED, aliases: [current], create_time: "2026-11-30T10:00:00Z"}
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._secrets import INFO_SPEC, describe_secrets


def main():
    GcpModule(**INFO_SPEC).run(describe_secrets)


if __name__ == "__main__":
    main()
