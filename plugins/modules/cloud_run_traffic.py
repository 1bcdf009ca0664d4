#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_traffic
short_description: Split, move or roll back the traffic of a Cloud Run service
version_added: 0.1.0
description:
  - Sets the traffic targets of an existing Cloud Run service, in one update.
  - O(traffic) is authoritative, the whole list of targets. A target names a revision, the
    latest ready revision (O(traffic[].latest)), or only a tag, which means the revision holding that
    tag now. A target with O(traffic[].percent=0) and a tag gives a revision a URL without traffic.
  - Percentages must add up to 100 (Cloud Run follows Knative's rule). Every check, including that
    named revisions and tags exist, runs before any change is made.
  - O(rollback=true) sends 100% to the revision that served all the traffic before the current split
    (recorded by the orchestra.gcp modules in the annotation C(orchestra.gcp/stable-revision)),
    keeping every tag at 0%.
  - When traffic moves away from a revision that served 100%, that revision is recorded as the rollback target.
author: AI Orchestra platform team (@ai-orchestra)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.cloud_run_service
  - orchestra.gcp.gcp.wait
  - orchestra.gcp.gcp.attributes
options:
  traffic:
    description: The traffic targets.
    type: list
    elements: dict
    suboptions:
      revision:
        description: Revision name, for example C(ai-orchestra-00007-kiq).
        type: str
      latest:
        description: Target the latest ready revision, whichever it is when requests arrive.
        type: bool
        default: false
      tag:
        description:
          - Tag of this target (a lowercase DNS label), which gets its own URL.
          - Without O(traffic[].revision) and O(traffic[].latest), the target is the revision that holds this tag now.
        type: str
      percent:
        description: Share of the traffic, 0 to 100.
        type: int
        default: 0
  rollback:
    description: Send all traffic back to the revision that served 100% before the current split.
    type: bool
    default: false
  reject:
    description:
      - A revision of the service to record as rejected, in the same update as the traffic (the service
        annotation C(orchestra.gcp/rejected-revisions) keeps the last ten). Cloud Run revisions cannot be
        changed, so the record lives on the service.
    type: str
"""

EXAMPLES = r"""
- name: Send 10% to the canary, keep 90% on stable
  orchestra.gcp.cloud_run_traffic:
    name: ai-orchestra
    region: us-central1
    traffic:
      - {tag: stable, percent: 90}
      - {tag: canary, percent: 10}

- name: Promote a revision and keep a URL for the old one
  orchestra.gcp.cloud_run_traffic:
    name: ai-orchestra
    region: us-central1
    traffic:
      - {revision: ai-orchestra-00008-fej, percent: 100, tag: stable}
      - {revision: ai-orchestra-00007-kiq, tag: previous}

- name: Roll back
  orchestra.gcp.cloud_run_traffic:
    name: ai-orchestra
    region: us-central1
    rollback: true
    reject: ai-orchestra-00008-fej
"""

RETURN = r"""
traffic:
  description: The traffic after the task (what the service serves; predicted in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {type: REVISION, revision: ai-orchestra-00007-kiq, percent: 90, tag: stable}
    - {type: REVISION, revision: ai-orchestra-00008-fej, percent: 10, tag: canary}
reconciling:
  description:
    - Whether Cloud Run is still rolling the change out (with O(wait=false)); RV(traffic) is then what was asked for.
  returned: always
  type: bool
  sample: false
rejected_revisions:
  description: The revisions recorded as rejected, oldest first.
  returned: always
  type: list
  elements: str
rolled_back_to:
  description: The revision that O(rollback) sent the traffic to.
  returned: when O(rollback=true)
  type: str
service:
  description: The service after the task, in the API's fields (snake_case).
  returned: always
  type: dict
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._run import TRAFFIC_SPEC, set_traffic


def main():
    GcpModule(**TRAFFIC_SPEC).run(set_traffic)


if __name__ == "__main__":
    main()
