#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_audit
short_description: Audit the IAM of a project, its service account keys, Cloud Run services, secrets and buckets
version_added: 0.3.0
description:
  - Reads the project's IAM policy (at version 3), its service accounts with their user-managed keys and their IAM
    policies (who may act as them), the Cloud Run services of O(regions), the secrets (O(secrets), or all) and the Cloud
    Storage buckets, each service, secret and bucket with its IAM policy, and
    returns what it finds wrong, each finding with its severity, the resource, the principal, the role, what it is and
    how to fix it. It never changes anything.
  - Findings, by rule; V(basic_role) - a basic role granted on the project (V(roles/owner) critical, V(roles/editor)
    high, V(roles/viewer) low) to a member not in O(allowed_basic); the Google APIs Service Agent
    (C(NUMBER@cloudservices.gserviceaccount.com)), which Google grants V(roles/editor) and says not to revoke, is not
    a finding.
  - V(public_access) (critical) - V(allUsers) or V(allAuthenticatedUsers) in any audited policy, but V(roles/run.invoker)
    on a Cloud Run service, which is V(public_service) (high) unless the service is one of O(public_services).
  - V(service_account_key) - a user-managed service account key, high when older than O(max_key_age_days), else medium.
  - V(project_wide_impersonation) (high) - V(roles/iam.serviceAccountTokenCreator) or V(roles/iam.serviceAccountUser)
    granted on the project, which lets the member act as every service account of it.
  - V(other_environment) (high) - a member of a project of O(other_projects) - a service account of
    C(PROJECT.iam.gserviceaccount.com), the Compute Engine or App Engine default account of that project, or a
    C(principal://) or C(principalSet://) of C(projects/NUMBER) - in any audited policy.
  - V(ingress_all) (medium) - a Cloud Run service of O(internal_services) whose ingress is V(all).
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-resource-manager >= 1.12
  - google-cloud-run >= 0.10
  - google-cloud-secret-manager >= 2.20
  - google-api-python-client >= 2.100
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.info_module
options:
  regions:
    description: The regions whose Cloud Run services are audited (Cloud Run lists services one region at a time).
    type: list
    elements: str
    required: true
  secrets:
    description: The IDs of the secrets whose IAM policies are audited; left out, every secret of the project.
    type: list
    elements: str
  allowed_basic:
    description: Members allowed to hold basic roles on the project, like V(user:owner@example.com).
    type: list
    elements: str
    default: []
  max_key_age_days:
    description: A user-managed service account key older than this many days is a high finding, a younger one medium.
    type: int
    default: 90
  public_services:
    description: The names of the Cloud Run services the environment declares public (invokable by V(allUsers)).
    type: list
    elements: str
    default: []
  internal_services:
    description: The names of the Cloud Run services the environment wants internal (an ingress other than V(all)).
    type: list
    elements: str
    default: []
  other_projects:
    description: The project IDs and numbers of the other environments, whose principals should not appear here.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Audit production's IAM
  orchestra.gcp.iam_audit:
    regions: [us-central1, europe-west1]
    allowed_basic: [user:owner@example.com]
    public_services: [ai-orchestra]
    internal_services: [orchestra-worker]
    other_projects: [orchestra-dev, orchestra-staging, "123456789012"]
  register: audit

- name: Stop on a critical or high finding
  ansible.builtin.assert:
    that: audit.counts.critical + audit.counts.high == 0
    fail_msg: "{{ audit.findings | selectattr('severity', 'in', ['critical', 'high']) | map(attribute='what') | list }}"
"""

RETURN = r"""
findings:
  description: What was found, the most severe first (critical, high, medium, low), then by rule, resource and principal.
  returned: always
  type: list
  elements: dict
  contains:
    severity:
      description: V(critical), V(high), V(medium) or V(low).
      type: str
    rule:
      description: >-
        The rule that found it - V(basic_role), V(public_access), V(public_service), V(service_account_key),
        V(project_wide_impersonation), V(other_environment) or V(ingress_all).
      type: str
    resource:
      description: The full name of the resource (the project, service, secret or service account key).
      type: str
    principal:
      description: The member concerned, as the policy writes it; null when none is (ingress).
      type: str
    role:
      description: The role granted; null when the finding is not about a grant.
      type: str
    what:
      description: What is wrong, in a sentence.
      type: str
    fix:
      description: What to do, in a sentence, often the iam_binding task to run.
      type: str
    age_days:
      description: For a service account key, its age in whole days.
      type: int
      returned: for service_account_key findings
  sample:
    - severity: critical
      rule: basic_role
      resource: projects/orchestra-prod
      principal: user:ada@example.com
      role: roles/owner
      what: user:ada@example.com holds the basic role roles/owner on the project
      fix: >-
        Grant a predefined role that covers what it needs, then revoke the basic role: orchestra.gcp.iam_binding with
        resource {type: project, name: orchestra-prod}, role roles/owner, members [user:ada@example.com], state absent;
        or list the member in allowed_basic if it is meant to hold it.
counts:
  description: The number of findings of each severity.
  returned: always
  type: dict
  sample: {critical: 1, high: 2, medium: 0, low: 0}
audited:
  description: What was read.
  returned: always
  type: dict
  contains:
    project:
      description: The project.
      type: str
    regions:
      description: The regions whose Cloud Run services were listed.
      type: list
      elements: str
    service_accounts:
      description: The emails of the project's service accounts.
      type: list
      elements: str
    user_managed_keys:
      description: How many user-managed keys they hold.
      type: int
    cloud_run_services:
      description: The full names of the Cloud Run services audited.
      type: list
      elements: str
    secrets:
      description: The full names of the secrets audited.
      type: list
      elements: str
    buckets:
      description: The Cloud Storage buckets audited, as C(projects/_/buckets/NAME).
      type: list
      elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._iam_audit import IAM_AUDIT_SPEC, audit


def main():
    GcpModule(**IAM_AUDIT_SPEC).run(audit)


if __name__ == "__main__":
    main()
