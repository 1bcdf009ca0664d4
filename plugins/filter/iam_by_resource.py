# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: iam_by_resource
author: AI Orchestra platform team (@ai-orchestra)
version_added: 0.3.0
short_description: Group IAM bindings declared one per role by the resource whose policy holds them
description:
  - Takes a list of bindings, each with a C(resource) (as M(orchestra.gcp.iam_binding) takes it) and the binding's
    other fields (C(role), C(members), C(condition), C(mode), ...), and returns one entry per resource, in the order
    each resource first appears, with the bindings of that resource without their C(resource).
  - Give the result to M(orchestra.gcp.iam_binding)'s O(orchestra.gcp.iam_binding#module:bindings), one task per
    resource, for one read and at most one write of each policy.
  - Resources are the same when they are equal as written (the same C(type), C(name) and C(region)).
options:
  _input:
    description: The bindings, each a mapping with a C(resource).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply the declared bindings, one policy per task
  orchestra.gcp.iam_binding:
    resource: "{{ item.resource }}"
    bindings: "{{ item.bindings }}"
  loop: "{{ declared | orchestra.gcp.iam_by_resource }}"
  vars:
    declared:
      - {resource: {type: project}, role: roles/logging.logWriter, members: ["serviceAccount:run@p.iam.gserviceaccount.com"]}
      - {resource: {type: secret, name: db}, role: roles/secretmanager.secretAccessor, members: ["serviceAccount:run@p.iam.gserviceaccount.com"]}
      - {resource: {type: project}, role: roles/monitoring.metricWriter, members: ["serviceAccount:run@p.iam.gserviceaccount.com"]}
# [{resource: {type: project}, bindings: [{role: roles/logging.logWriter, ...}, {role: roles/monitoring.metricWriter, ...}]},
#  {resource: {type: secret, name: db}, bindings: [{role: roles/secretmanager.secretAccessor, ...}]}]
"""

RETURN = r"""
_value:
  description: One entry per resource, with its C(resource) and its C(bindings).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def iam_by_resource(bindings):
    """``[{resource, bindings}]``: ``bindings`` grouped by their resource, in first-seen order."""
    grouped = []
    for index, binding in enumerate(bindings):
        if not isinstance(binding, dict) or not isinstance(binding.get("resource"), dict):
            raise AnsibleFilterError("iam_by_resource: binding %d has no resource mapping: %r" % (index, binding))
        rest = {key: value for key, value in binding.items() if key != "resource"}
        group = next((g for g in grouped if g["resource"] == binding["resource"]), None)
        if group is None:
            grouped.append(dict(resource=binding["resource"], bindings=[rest]))
        else:
            group["bindings"].append(rest)
    return grouped


class FilterModule:
    def filters(self):
        return {"iam_by_resource": iam_by_resource}
