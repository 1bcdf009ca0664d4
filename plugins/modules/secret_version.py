#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret_version
short_description: Add a Secret Manager secret version, or enable, disable or destroy one, and point aliases at it
version_added: 0.2.0
description:
  - With O(value), adds a version holding it unless the version the first of O(aliases) names (or the newest
    version, without aliases) already holds it; the value is compared inside the module and never returned.
  - With O(generate), makes a random value inside the module, so that it never passes through Ansible variables, and
    adds it once - while the O(aliases) all name one enabled version (or, without aliases, while the newest version
    is enabled), there is nothing to add. A rotation adds its new value this way under the alias C(pending).
  - With O(version) (a number, an alias or V(latest)), makes that version O(state=enabled), V(disabled) or
    V(destroyed). A version an alias names is not disabled or destroyed (its consumers would break) unless the task
    also moves that alias.
  - O(aliases) are pointed at the resulting version in one etag-guarded update of the secret.
  - Adding a version is not repeated after a transient error (a repeat would add two); every other call is. After an
    error that leaves unknown whether Google added it (a 5xx), the task fails saying so, with no alias moved; a version
    created then that no alias names is that task's, to disable before re-running.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-secret-manager >= 2.20
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  secret:
    description: The secret ID.
    type: str
    required: true
  value:
    description: The value of the new version (1 byte to 64 KiB). Never logged nor returned.
    type: str
  generate:
    description: Make the value here, at random (Python's C(secrets)).
    type: dict
    suboptions:
      length:
        description: Characters in the value, from 8 to 65536.
        type: int
        default: 32
      charset:
        description: What the value is made of.
        type: str
        choices: [alphanumeric, hex, printable, urlsafe]
        default: alphanumeric
  version:
    description: The version to enable, disable or destroy - a number, an alias or V(latest).
    type: str
  state:
    description:
      - V(present) with O(value) or O(generate); V(enabled), V(disabled) or V(destroyed) with O(version).
      - With the secret's O(orchestra.gcp.secret#module:version_destroy_ttl), a destroyed version stays disabled until
        its scheduled destruction.
    type: str
    choices: [present, enabled, disabled, destroyed]
    default: present
  aliases:
    description: Aliases to point at the version (V(latest) is reserved).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Store the API key from the vault (once; a re-run with the same value changes nothing)
  orchestra.gcp.secret_version:
    secret: openai-api-key
    value: "{{ vault_openai_api_key }}"
    aliases: [current]

- name: A generated database password, made once
  orchestra.gcp.secret_version:
    secret: db-password
    generate: {length: 40, charset: urlsafe}
    aliases: [current]

- name: Disable the previous version after the grace period
  orchestra.gcp.secret_version:
    secret: db-password
    version: previous
    state: disabled
"""

RETURN = r"""
version:
  description: The version the task added or changed, or the one the aliases name; never its value.
  returned: when there is one
  type: dict
  sample: {name: projects/123456789012/secrets/db-password/versions/4, version: 4, state: ENABLED, aliases: [pending]}
added:
  description: Whether the task added (or, in check mode, would add) a version.
  returned: always
  type: bool
moved_aliases:
  description: The aliases the task pointed at the version.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._secrets import VERSION_SPEC, manage_version


def main():
    GcpModule(**VERSION_SPEC).run(manage_version)


if __name__ == "__main__":
    main()
