#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_binding
short_description: Grant or revoke roles (with optional conditions) in the IAM policy of a project, Cloud Run service, secret, service account or bucket
version_added: 0.3.0
description:
  - Manages the members of one role binding in a resource's IAM allow policy, or of several with O(bindings). A binding
    is the role together with its condition (title, description and expression); the same role under another condition
    is another binding, and a changed condition is a new binding beside the old one.
  - All the bindings of a task are applied in one read and at most one write of the policy, so an environment's
    declaration costs one read and one write per resource, and a re-run one read.
  - With O(mode=additive) the members given are added (O(state=present)) or removed (O(state=absent)) and every other
    member of the binding is left. With O(mode=authoritative) the binding holds exactly the members given
    (O(state=present)) or is removed (O(state=absent)). Other roles and conditions are never touched.
  - The policy is read at version 3, so that conditional bindings are seen, and written back at the version it needs
    (3 when a binding has a condition). The write is guarded by the policy's etag; when someone else changed the policy
    in between, the module reads it again and applies its change on top, a bounded number of times with backoff.
  - Every input is checked before any call. Emails and domains compare without regard to case.
author: AI Orchestra platform team (@ai-orchestra)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
  - orchestra.gcp.gcp.iam_resource
options:
  role:
    description:
      - The role, as V(roles/NAME), V(projects/PROJECT/roles/NAME) or V(organizations/ORGANIZATION/roles/NAME).
      - Required unless O(bindings) is given; not with it.
    type: str
  members:
    description:
      - Principals, as C(user:EMAIL), C(serviceAccount:EMAIL), C(group:EMAIL), C(domain:DOMAIN), C(principal://...),
        C(principalSet://...), V(allUsers) or V(allAuthenticatedUsers); on a bucket also its project's convenience members
        C(projectOwner:PROJECT), C(projectEditor:PROJECT) and C(projectViewer:PROJECT). C(deleted:) principals are
        refused, and so are V(allUsers) and V(allAuthenticatedUsers) on a project. Google allows them on a bucket (a
        public bucket), and M(orchestra.gcp.iam_audit) reports them there.
      - Needed except with O(mode=authoritative) and O(state=absent).
    type: list
    elements: str
  bindings:
    description:
      - Several bindings of the resource, applied together; instead of O(role), O(members) and O(condition). A role and
        condition may be listed once.
    type: list
    elements: dict
    suboptions:
      role:
        description: The role, as O(role).
        type: str
        required: true
      members:
        description: Its members, as O(members).
        type: list
        elements: str
        default: []
      condition:
        description: Its condition, as O(condition).
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
      mode:
        description: As O(mode), which it defaults to.
        type: str
        choices: [additive, authoritative]
      state:
        description: As O(state), which it defaults to.
        type: str
        choices: [present, absent]
  condition:
    description:
      - An IAM condition the binding is granted under; part of the binding's identity. Not allowed with the basic roles
        V(roles/owner), V(roles/editor) and V(roles/viewer).
    type: dict
    suboptions:
      title:
        description: The condition's title (required).
        type: str
      description:
        description: What the condition is for.
        type: str
      expression:
        description: The CEL expression (required), like C(request.time < timestamp("2027-01-01T00:00:00Z")).
        type: str
  mode:
    description: V(additive) adds or removes the members given; V(authoritative) makes them the binding's only members.
    type: str
    choices: [additive, authoritative]
    default: additive
  state:
    description: Whether the members (or, authoritatively, the binding) are in the policy.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Let the deployer invoke the API service
  orchestra.gcp.iam_binding:
    resource: {type: cloud_run_service, name: orchestra-api, region: europe-west1}
    role: roles/run.invoker
    members: [serviceAccount:deployer@orchestra-prod.iam.gserviceaccount.com]

- name: The API's service account alone reads the Redis password, until the end of the year
  orchestra.gcp.iam_binding:
    resource: {type: secret, name: redis-password}
    role: roles/secretmanager.secretAccessor
    members: [serviceAccount:orchestra-api@orchestra-prod.iam.gserviceaccount.com]
    mode: authoritative
    condition:
      title: until-2027
      expression: request.time < timestamp("2027-01-01T00:00:00Z")

- name: What the runtime account may do in the project, in one read and one write of its policy
  orchestra.gcp.iam_binding:
    resource: {type: project}
    bindings:
      - {role: roles/monitoring.metricWriter, members: [serviceAccount:orchestra-runtime@orchestra-prod.iam.gserviceaccount.com]}
      - {role: roles/logging.logWriter, members: [serviceAccount:orchestra-runtime@orchestra-prod.iam.gserviceaccount.com]}
"""

RETURN = r"""
resource:
  description: The full name of the resource whose policy was managed.
  returned: always
  type: str
  sample: projects/orchestra-prod/secrets/redis-password
binding:
  description: The binding after the task (predicted in check mode), or null when it holds no member.
  returned: unless O(bindings) is given
  type: dict
  sample: {role: roles/run.invoker, members: [user:ada@example.com]}
added:
  description: The members the task added (or would add).
  returned: unless O(bindings) is given
  type: list
  elements: str
removed:
  description: The members the task removed (or would remove).
  returned: unless O(bindings) is given
  type: list
  elements: str
bindings:
  description: For each of O(bindings), in order, its role and condition, the binding after the task and the members added and removed.
  returned: when O(bindings) is given
  type: list
  elements: dict
  sample:
    - {role: roles/logging.logWriter, condition: null, binding: {role: roles/logging.logWriter, members: [user:ada@example.com]},
       added: [user:ada@example.com], removed: []}
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam import BINDING_SPEC, manage_binding


def main():
    GcpModule(**BINDING_SPEC).run(manage_binding)


if __name__ == "__main__":
    main()
