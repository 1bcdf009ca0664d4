#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: workload_identity_provider
short_description: An OIDC provider of a workload identity pool, for GitHub Actions by default
version_added: 0.3.0
description:
  - Manages an OIDC provider of a workload identity pool (made with M(orchestra.gcp.workload_identity_pool)), through
    which the tokens of an OIDC issuer - GitHub Actions by default - are exchanged for Google credentials, without any
    service account key.
  - O(github_repository=OWNER/REPO) sets the attribute mapping (C(google.subject), C(attribute.repository),
    C(attribute.repository_owner) and C(attribute.ref) from the token's claims) and the condition that only that
    repository's workflows are trusted (C(assertion.repository == 'OWNER/REPO')), and returns RV(principal_set), the
    member to grant roles to (for example V(roles/iam.workloadIdentityUser) on a service account with
    M(orchestra.gcp.iam_binding)).
  - A provider without an attribute condition trusts every token of its issuer - for GitHub, every workflow of every
    repository. The module refuses one unless O(allow_unconditioned=true); Google itself refuses to create a GitHub
    provider whose condition does not reference the token's claims
    (U(https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines#conditions)).
  - A soft-deleted provider (state C(DELETED)) asked present is undeleted, then the options are applied.
  - Create, update, delete and undelete are long-running operations; the task waits for them unless O(wait=false).
  - Only the options given are managed. Every input is checked before any change; a new provider's pool must exist,
    in check mode too.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.wait
  - orchestra.gcp.gcp.attributes
options:
  pool_id:
    description: The ID of the provider's workload identity pool.
    type: str
    required: true
  provider_id:
    description: The provider ID - 4 to 32 lowercase letters, digits or hyphens, not starting with C(gcp-).
    type: str
    required: true
  display_name:
    description: A name for people, at most 32 characters.
    type: str
  description:
    description: What the provider is for, at most 256 characters.
    type: str
  disabled:
    description: V(true) disables the provider (its tokens are no longer exchanged), V(false) enables it.
    type: bool
  issuer_uri:
    description: The OIDC issuer, an https URL.
    type: str
    default: https://token.actions.githubusercontent.com
  allowed_audiences:
    description:
      - The audiences a token may name, at most 10. Left empty, Google accepts the provider's full resource name
        (C(https://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER)),
        which is what google-github-actions/auth asks for.
    type: list
    elements: str
  attribute_mapping:
    description:
      - Google attributes (C(google.subject), required; C(google.groups), ...) and custom ones (C(attribute.NAME)) as CEL
        expressions over the token (C(assertion.sub)). Authoritative when given. Exclusive with O(github_repository).
    type: dict
  attribute_condition:
    description:
      - A CEL expression a token must satisfy, like C(assertion.repository_owner == 'ai-orchestra'). Exclusive with
        O(github_repository). See O(allow_unconditioned).
    type: str
  github_repository:
    description:
      - C(OWNER/REPO) - trust the GitHub Actions workflows of this repository only - sets O(attribute_mapping) and
        O(attribute_condition) as said above.
    type: str
  allow_unconditioned:
    description: Allow a provider without an attribute condition (it trusts every token of the issuer).
    type: bool
    default: false
  state:
    description: Whether the provider exists. V(absent) deletes it (softly, for 30 days).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: GitHub Actions of ai-orchestra/orchestra, and no other repository
  orchestra.gcp.workload_identity_provider:
    pool_id: orchestra-ci
    provider_id: github
    github_repository: ai-orchestra/orchestra
  register: github

- name: Those workflows may act as the deployer
  orchestra.gcp.iam_binding:
    resource: {type: service_account, name: orchestra-deployer}
    role: roles/iam.workloadIdentityUser
    members: ["{{ github.principal_set }}"]

- name: Another OIDC issuer, with its own mapping and condition
  orchestra.gcp.workload_identity_provider:
    pool_id: orchestra-ci
    provider_id: gitlab
    issuer_uri: https://gitlab.com
    allowed_audiences: [https://gitlab.com]
    attribute_mapping: {google.subject: assertion.sub, attribute.project_path: assertion.project_path}
    attribute_condition: assertion.namespace_path == 'ai-orchestra'
"""

RETURN = r"""
provider:
  description:
    - The provider as Google holds it after the task (predicted in check mode), named by project number; with
      O(state=absent), the deleted provider (state C(DELETED)) or null when there was none.
  returned: always
  type: dict
  sample:
    name: projects/123456789012/locations/global/workloadIdentityPools/orchestra-ci/providers/github
    state: ACTIVE
    attributeCondition: assertion.repository == 'ai-orchestra/orchestra'
    oidc: {issuerUri: "https://token.actions.githubusercontent.com"}
principal_set:
  description: With O(github_repository), the member that names the repository's workflows, to grant roles to.
  returned: always
  type: str
  sample: >-
    principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/orchestra-ci/attribute.repository/ai-orchestra/orchestra
principal_set_prefix:
  description: The pool as a principal set, to which C(/attribute.NAME/VALUE) is appended to name the identities with that attribute.
  returned: always
  type: str
  sample: principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/orchestra-ci
changed_options:
  description: The options whose live value differed from the one asked for.
  returned: when O(state=present)
  type: list
  elements: str
undeleted:
  description: Whether a soft-deleted provider was (or, in check mode, would be) undeleted.
  returned: when O(state=present)
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam_accounts import PROVIDER_SPEC, manage_provider


def main():
    GcpModule(**PROVIDER_SPEC).run(manage_provider)


if __name__ == "__main__":
    main()
