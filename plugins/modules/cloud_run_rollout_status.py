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
  - Given the O(spec) about to be rolled out, it also returns the RV(plan) - what a rollout of that spec by O(steps)
    will do - as data, which the C(orchestra.gcp.cloud_run_rollout) role follows and shows.
  - It changes nothing.
author: AI Orchestra platform team (@ai-orchestra)
options:
  image:
    description:
      - The image about to be rolled out; RV(same_image) tells whether the canary in progress runs it.
      - Default the image of O(spec).
    type: str
  spec:
    description:
      - The service spec about to be rolled out, as the C(orchestra.gcp.cloud_run_deploy) role takes it - C(name), C(image)
        and the other options of M(orchestra.gcp.cloud_run_service) - typed and checked as that module does.
      - With it, the module returns RV(plan). Whether deploying the spec makes a new revision is decided as
        M(orchestra.gcp.cloud_run_service) decides it - an option of the revision differs from the service's template.
    type: dict
  steps:
    description:
      - The rollout's steps, for RV(plan) - the canary's C(percent) of the traffic at each (an integer from 1 to 99, above
        the one before) and the C(bake) seconds it is judged there (0 or more, default 0). Numbers given as strings are
        taken as numbers.
      - Steps that break these rules fail the task before any call.
    type: list
    elements: dict
    default: []
  resume:
    description:
      - What RV(plan) does with an interrupted rollout - V(continue) from where its traffic stands when the canary in
        progress has O(spec), or V(rollback) its traffic to the stable revision first, then roll O(spec) out from the start.
    type: str
    choices: [continue, rollback]
    default: continue
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

- name: Plan the rollout of a spec by two steps
  orchestra.gcp.cloud_run_rollout_status:
    name: ai-orchestra
    region: us-central1
    spec:
      name: ai-orchestra
      image: us-docker.pkg.dev/my-project/app/ai-orchestra:1.4.0
      env: {LOG_LEVEL: info}
    steps:
      - {percent: 10, bake: 300}
      - {percent: 50, bake: 300}
  register: rollout

- name: Refuse what the plan refuses
  ansible.builtin.fail:
    msg: "{{ rollout.plan.refusal }}"
  when: rollout.plan.action == 'refuse'
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
plan:
  description: What a rollout of O(spec) by O(steps) will do.
  returned: when O(spec) is set
  type: dict
  contains:
    action:
      description:
        - V(refuse) - nothing may change (RV(plan.refusal) says why and what to do); V(first_deploy) - nothing serves yet, the
          new revision takes all the traffic under the stable tag as it is created, then the smoke test; V(up_to_date) - the
          stable revision has the spec, nothing to roll out; V(resume) - the canary in progress has the spec, its rollout
          continues from RV(plan.resume_from); V(rollout) - a smoke test of the canary, every step, then the promotion.
      type: str
      sample: rollout
    refusal:
      description: Why the rollout must not start, with a way forward; null unless RV(plan.action) is V(refuse).
      type: str
    stable:
      description: The revision the canary is compared with and a rollback returns to.
      type: str
    canary:
      description: The revision that already has the spec; null when deploying it makes a new revision.
      type: str
    new_revision:
      description: Whether deploying the spec makes a new revision.
      type: bool
    resume_from:
      description: The percent the canary serves, where a V(resume) continues; 0 otherwise.
      type: int
    roll_back_first:
      description: Whether the traffic of an interrupted rollout goes back to the stable revision first (O(resume=rollback)).
      type: bool
    steps:
      description: The steps left to walk, as C(percent) and C(bake) integers; empty unless RV(plan.action) is V(rollout) or V(resume).
      type: list
      elements: dict
      sample: [{percent: 10, bake: 300}, {percent: 50, bake: 300}]
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._rollout import STATUS_SPEC, rollout_status


def main():
    GcpModule(**STATUS_SPEC).run(rollout_status)


if __name__ == "__main__":
    main()
