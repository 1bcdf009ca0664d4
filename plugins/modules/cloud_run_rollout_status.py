#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_rollout_status
short_description: Where a canary rollout of a Cloud Run service stands, and whether one can start
version_added: 0.1.0
description:
  - Reads the service's traffic and tells the rollout's RV(phase) - V(absent), V(empty) (the service serves
    nothing), V(idle) (one revision serves 100%), V(in_progress) (the canary-tagged revision serves part of the traffic, the other revision the rest)
    or V(split) (any other split) - and the RV(problems) that should stop a new rollout, each with a way forward.
  - Problems are a split not made by a rollout, traffic pinned to a revision while a newer ready revision serves
    nothing without having been rejected, and tags other than the rollout's own and O(allowed_tags).
  - It changes nothing.
author: AI Orchestra platform team (@ai-orchestra)
options:
  image:
    description: The image about to be rolled out; RV(same_image) tells whether the canary in progress runs it.
    type: str
  canary_tag:
    description: The tag that marks the canary revision.
    type: str
    default: canary
  stable_tag:
    description: The tag that marks the stable revision.
    type: str
    default: stable
  allowed_tags:
    description: Other tags that may stay on the service.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.cloud_run_service
  - orchestra.gcp.gcp.info_module
"""

EXAMPLES = r"""
- name: Look before rolling out
  orchestra.gcp.cloud_run_rollout_status:
    name: ai-orchestra
    region: us-central1
    image: us-docker.pkg.dev/my-project/app/ai-orchestra:1.4.0
  register: rollout

- name: Refuse to start on unclean traffic
  ansible.builtin.fail:
    msg: "{{ rollout.problems | join('; ') }}"
  when: rollout.problems | length > 0
"""

RETURN = r"""
phase:
  description: V(absent), V(empty), V(idle), V(in_progress) or V(split).
  returned: always
  type: str
first_deploy:
  description: Whether no revision serves traffic yet (no stable revision to compare with or return to).
  returned: always
  type: bool
problems:
  description: What should stop a new rollout, each with a way forward.
  returned: always
  type: list
  elements: str
serving:
  description: Revision name to the percent of traffic it serves.
  returned: always
  type: dict
stable:
  description: The revision serving 100%, or the non-canary one during a rollout.
  returned: always
  type: str
canary:
  description: The revision the canary tag points at, unless it is the stable one.
  returned: always
  type: str
canary_percent:
  description: The percent of traffic the canary serves.
  returned: always
  type: int
canary_image:
  description: The canary revision's image.
  returned: always
  type: str
same_image:
  description: Whether the canary runs O(image).
  returned: always
  type: bool
rollback_target:
  description: The revision a rollback returns to (the stable-revision annotation).
  returned: always
  type: str
rejected:
  description: Revisions earlier rollouts rejected, oldest first.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._rollout import STATUS_SPEC, rollout_status


def main():
    GcpModule(**STATUS_SPEC).run(rollout_status)


if __name__ == "__main__":
    main()
