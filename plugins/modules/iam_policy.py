#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_policy
short_description: Set the whole IAM policy of a project, Cloud Run service, secret, service account or bucket
version_added: 0.3.0
description:
  - Makes a resource's IAM allow policy hold exactly the bindings given, and on a project exactly the audit configs given
    when O(audit_configs) is set. Every binding not listed is removed. Do not combine with M(orchestra.gcp.iam_binding)
    on the same resource, as each run of one would undo the other.
  - Refuses, before any change, a policy that would remove the caller from the roles that allow setting the policy
    (on a project V(roles/owner), V(roles/resourcemanager.projectIamAdmin) and V(roles/iam.securityAdmin); on a Cloud
    Run service V(roles/owner) and V(roles/run.admin); on a secret V(roles/owner) and V(roles/secretmanager.admin); on
    a service account V(roles/owner), V(roles/iam.serviceAccountAdmin) and V(roles/iam.securityAdmin); on a bucket
    V(roles/owner) and V(roles/storage.admin)), unless
    O(allow_self_lockout=true). The caller is the service account of a key, or the impersonated one. Other credentials
    (a user's, Application Default Credentials of the metadata server, anonymous ones of the emulator) do not say whom
    they act as, so the policy is then refused when it removes anyone from those roles.
  - Access the caller holds through a group, a domain, a custom role or a policy inherited from a parent is not seen by
    that check.
  - The policy is read at version 3 and written, guarded by its etag, at the version it needs; a concurrent change is
    read again and the policy set on top of it, a bounded number of times with backoff.
author: AI Orchestra platform team (@ai-orchestra)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.iam_resource
options:
  bindings:
    description: Every binding of the policy; a role (with a condition) listed once. V([]) removes them all.
    type: list
    elements: dict
    required: true
    suboptions:
      role:
        description: The role, as in M(orchestra.gcp.iam_binding).
        type: str
        required: true
      members:
        description: The principals, in the forms M(orchestra.gcp.iam_binding) accepts.
        type: list
        elements: str
        required: true
      condition:
        description: An IAM condition, part of the binding's identity.
        type: dict
        suboptions:
          title:
            description: The condition's title (required).
            type: str
          description:
            description: What the condition is for.
            type: str
          expression:
            description: The CEL expression (required).
            type: str
  audit_configs:
    description:
      - A project's audit configs, each service listed once; left out, the live ones are kept. V([]) removes them all.
    type: list
    elements: dict
    suboptions:
      service:
        description: V(allServices) or an API, like V(secretmanager.googleapis.com).
        type: str
        required: true
      log_configs:
        description: The log types recorded, each with the members exempted from it.
        type: list
        elements: dict
        default: []
        suboptions:
          log_type:
            description: The kind of access logged.
            type: str
            required: true
            choices: [ADMIN_READ, DATA_READ, DATA_WRITE]
          exempted_members:
            description: Principals whose access of that kind is not logged.
            type: list
            elements: str
            default: []
  allow_self_lockout:
    description: Set the policy even when it removes the caller from the roles that allow setting it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The API service is invoked by the gateway alone, administered by the platform team
  orchestra.gcp.iam_policy:
    resource: {type: cloud_run_service, name: orchestra-api, region: europe-west1}
    bindings:
      - role: roles/run.admin
        members: [group:platform@example.com]
      - role: roles/run.invoker
        members: [serviceAccount:gateway@orchestra-prod.iam.gserviceaccount.com]
"""

RETURN = r"""
resource:
  description: The full name of the resource whose policy was managed.
  returned: always
  type: str
  sample: projects/orchestra-prod/locations/europe-west1/services/orchestra-api
policy:
  description: The policy after the task (predicted in check mode), as Google's JSON shows it.
  returned: always
  type: dict
  sample: {version: 1, etag: BwYk3aZ2s1E=, bindings: [{role: roles/run.invoker, members: [allUsers]}]}
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam import POLICY_SPEC, manage_policy


def main():
    GcpModule(**POLICY_SPEC).run(manage_policy)


if __name__ == "__main__":
    main()
