#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_identity_pool
short_description: Create, update, disable or delete a workload identity pool
version_added: 0.3.0
description:
  - Manages a workload identity pool of the project (in the C(global) location) - its display name, description and
    whether it is disabled. Its providers are managed with M(orchestra.gcp.workload_identity_provider).
  - Workload Identity Federation lets workloads outside Google Cloud (GitHub Actions, for one) act as a service account
    with short-lived tokens, instead of a service account key.
  - Google deletes a pool softly - it stays, in state C(DELETED), for 30 days, and its ID cannot be reused meanwhile.
    A task asking for such a pool with O(state=present) undeletes it (with its providers), then applies the options.
  - Create, update, delete and undelete are long-running operations; the task waits for them unless O(wait=false).
  - Only the options given are managed. Every input is checked before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.wait
  - orchestra.gcp.gcp.attributes
options:
  pool_id:
    description: The pool ID - 4 to 32 lowercase letters, digits or hyphens, not starting with C(gcp-).
    type: str
    required: true
  display_name:
    description: A name for people, at most 32 characters.
    type: str
  description:
    description: What the pool is for, at most 256 characters.
    type: str
  disabled:
    description: V(true) disables the pool (its identities can no longer get tokens), V(false) enables it.
    type: bool
  state:
    description: Whether the pool exists. V(absent) deletes it (softly, see above).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: A pool for the CI systems that deploy AI Orchestra
  orchestra.gcp.workload_identity_pool:
    pool_id: orchestra-ci
    display_name: Orchestra CI
    description: GitHub Actions workflows of the orchestra repositories
"""

RETURN = r"""
pool:
  description:
    - The pool as Google holds it after the task (predicted in check mode), named by project number; with
      O(state=absent), the deleted pool (state C(DELETED)) or null when there was none.
  returned: always
  type: dict
  sample:
    name: projects/123456789012/locations/global/workloadIdentityPools/orchestra-ci
    displayName: Orchestra CI
    state: ACTIVE
changed_options:
  description: The options whose live value differed from the one asked for.
  returned: when O(state=present)
  type: list
  elements: str
undeleted:
  description: Whether a soft-deleted pool was (or, in check mode, would be) undeleted.
  returned: when O(state=present)
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam_accounts import POOL_SPEC, manage_pool


def main():
    GcpModule(**POOL_SPEC).run(manage_pool)


if __name__ == "__main__":
    main()
