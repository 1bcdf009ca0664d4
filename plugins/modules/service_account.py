#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_account
short_description: Create, update, disable or delete an IAM service account (never its keys)
version_added: 0.3.0
description:
  - Manages a service account of the project - its display name, description and whether it is disabled.
  - This module never creates a user-managed key. Keys are long-lived secrets that leak and are rarely rotated; the
    collection wants them avoided. Let workloads outside Google Cloud (GitHub Actions, for one) act as the account
    through Workload Identity Federation instead (M(orchestra.gcp.workload_identity_pool),
    M(orchestra.gcp.workload_identity_provider) and M(orchestra.gcp.iam_binding) with
    V(roles/iam.workloadIdentityUser)).
  - For audits, the task returns the account's user-managed keys (listed with C(keyTypes=USER_MANAGED)), their number
    and age, and warns when there are any. It never deletes them.
  - Only the options given are managed. Every input is checked before any call.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  account_id:
    description:
      - The account ID, the part of the email before the C(@) - 6 to 30 lowercase letters, digits or hyphens, starting
        with a letter. The account is C(ACCOUNT_ID@PROJECT.iam.gserviceaccount.com) in O(project).
    type: str
    required: true
  display_name:
    description: A name for people, at most 100 characters.
    type: str
  description:
    description: What the account is for, at most 256 characters.
    type: str
  disabled:
    description: V(true) disables the account (nothing can act as it), V(false) enables it. Left out, left as it is.
    type: bool
  state:
    description: Whether the account exists. V(absent) deletes it (Google can undelete it for 30 days, by its unique ID).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: The account GitHub Actions deploys as, through Workload Identity Federation (no key)
  orchestra.gcp.service_account:
    account_id: orchestra-deployer
    display_name: Orchestra deployer
    description: Deploys AI Orchestra from GitHub Actions

- name: Disable an account that should no longer be used
  orchestra.gcp.service_account:
    account_id: legacy-ci
    disabled: true
"""

RETURN = r"""
account:
  description:
    - The account as Google holds it after the task (predicted in check mode), with C(unique_id) and C(disabled)
      added; null when O(state=absent).
  returned: always
  type: dict
  sample:
    name: projects/orchestra-prod/serviceAccounts/orchestra-deployer@orchestra-prod.iam.gserviceaccount.com
    email: orchestra-deployer@orchestra-prod.iam.gserviceaccount.com
    unique_id: "104418592735163928340"
    displayName: Orchestra deployer
    disabled: false
user_managed_keys:
  description: The account's user-managed keys, oldest first, for audits (none for an account the task creates).
  returned: always
  type: list
  elements: dict
  sample: [{key_id: 8f2c0d6e2c8a4e1b9d5f7a3c6e0b1d2f4a6c8e0b, valid_after_time: "2024-03-01T10:00:00Z", age_days: 412}]
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam_accounts import ACCOUNT_SPEC, manage_service_account


def main():
    GcpModule(**ACCOUNT_SPEC).run(manage_service_account)


if __name__ == "__main__":
    main()
