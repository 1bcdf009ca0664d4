# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iam_by_resource filter: bindings declared one per role, grouped by the policy that holds them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.orchestra.gcp.plugins.filter.iam_by_resource import iam_by_resource

PROJECT, SECRET = {"type": "project"}, {"type": "secret", "name": "db"}
RUN = "serviceAccount:run@p.iam.gserviceaccount.com"


def test_bindings_are_grouped_by_resource_in_first_seen_order():
    declared = [
        {"resource": PROJECT, "role": "roles/logging.logWriter", "members": [RUN]},
        {"resource": SECRET, "role": "roles/secretmanager.secretAccessor", "members": [RUN], "mode": "authoritative"},
        {"resource": dict(PROJECT), "role": "roles/monitoring.metricWriter", "members": [RUN]},
        {"resource": {"type": "project", "name": "other"}, "role": "roles/logging.logWriter", "members": [RUN]},
    ]
    assert iam_by_resource(declared) == [
        {"resource": PROJECT, "bindings": [{"role": "roles/logging.logWriter", "members": [RUN]},
                                           {"role": "roles/monitoring.metricWriter", "members": [RUN]}]},
        {"resource": SECRET, "bindings": [{"role": "roles/secretmanager.secretAccessor", "members": [RUN], "mode": "authoritative"}]},
        {"resource": {"type": "project", "name": "other"}, "bindings": [{"role": "roles/logging.logWriter", "members": [RUN]}]},
    ]
    assert iam_by_resource([]) == []


@pytest.mark.parametrize("declared", [[{"role": "roles/x"}], ["roles/x"], [{"resource": "project", "role": "roles/x"}]])
def test_a_binding_without_a_resource_mapping_is_refused(declared):
    with pytest.raises(AnsibleFilterError, match="binding 0 has no resource mapping"):
        iam_by_resource(declared)
