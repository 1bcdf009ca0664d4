#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_service
short_description: Deploy a Cloud Run service declaratively
version_added: 0.1.0
description:
  - Creates, updates or deletes a Cloud Run service (Admin API v2).
  - Only the options you set are managed; everything else on the live service is left as it is.
  - A change to the revision template (image, command, environment, resources, scaling, ...) creates
    a new immutable revision; a change to service-level options (ingress, labels, annotations) does not.
  - The new revision either takes all the traffic (O(traffic=latest)), or none of it under a tag
    (O(traffic=none) with O(tag)), which is what a canary needs.
  - Revision names are chosen by the module (C(SERVICE-NNNNN-xyz), as Google names them), so a
    retried request can never create two revisions.
  - Traffic is only changed together with a new revision. A re-run with an unchanged template leaves
    traffic alone, so a rollback stays in place until the next deploy of a different template.
  - Before traffic moves away from a revision that served 100%, that revision is recorded in the
    service annotation C(orchestra.gcp/stable-revision), the target of
    M(orchestra.gcp.cloud_run_traffic) O(orchestra.gcp.cloud_run_traffic#module:rollback=true).
author: AI Orchestra platform team (@ai-orchestra)
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.cloud_run_service
  - orchestra.gcp.gcp.wait
  - orchestra.gcp.gcp.attributes
options:
  state:
    description: V(present) deploys the service; V(absent) deletes it with all its revisions.
    type: str
    choices: [present, absent]
    default: present
  image:
    description: Container image, for example C(us-docker.pkg.dev/proj/repo/app:1.4.2). Required when O(state=present).
    type: str
  command:
    description: Entrypoint of the container; the image's when unset.
    type: list
    elements: str
  args:
    description: Arguments to the entrypoint.
    type: list
    elements: str
  port:
    description: Port the container listens on (Cloud Run passes it in E(PORT)).
    type: int
  env:
    description:
      - Plain environment variables, name to value. When set, it is the whole set of plain variables.
      - Names that Cloud Run reserves (C(PORT), C(K_SERVICE), C(K_REVISION), C(K_CONFIGURATION)) are refused.
    type: dict
  secret_env:
    description:
      - Environment variables read from Secret Manager, name to C({secret, version}); C(secret) is the
        secret's ID in O(project), or its full name C(projects/P/secrets/S).
      - C(version) is a number, or an alias such as C(current) (the one the P(orchestra.gcp.secret_rotation#role)
        role moves), which the module resolves to the number it names now, with one read of the secret
        (C(secretmanager.secrets.get)); the revision is pinned to that number. A later move of the alias is no
        change, since a rotation rolls the service to the new number itself. An alias the secret lacks is refused.
      - Cloud Run reads the value when an instance starts, so a rotated secret reaches the service only through a
        new revision; C(latest) gives a warning.
    type: dict
  cpu:
    description: CPU limit per instance, V(0.08) to V(1), or V(2), V(4), V(6), V(8); millicores (C(500m)) also work.
    type: str
  memory:
    description:
      - Memory limit per instance, V(128Mi) to V(32Gi).
      - More than 4Gi needs 2 CPU, more than 8Gi 4 CPU, more than 16Gi 6 CPU, more than 24Gi 8 CPU.
    type: str
  min_instances:
    description: Instances kept warm (0 to 1000).
    type: int
  max_instances:
    description: Upper bound on instances (1 to 1000); at least O(min_instances).
    type: int
  concurrency:
    description: Maximum concurrent requests per instance (1 to 1000). A CPU below 1 needs 1.
    type: int
  timeout:
    description: Request timeout in seconds (1 to 3600).
    type: int
  execution_environment:
    description: Cloud Run execution environment.
    type: str
    choices: [gen1, gen2]
  ingress:
    description: Which sources may reach the service.
    type: str
    choices: [all, internal, internal-and-cloud-load-balancing]
  service_account:
    description: Email of the service account the revision runs as.
    type: str
  vpc_connector:
    description: Serverless VPC Access connector, C(projects/P/locations/R/connectors/NAME).
    type: str
  network_interfaces:
    description:
      - Direct VPC egress - the revision's instances get addresses of a VPC subnetwork, and no connector is needed.
        Cloud Run takes one interface. Exclusive with O(vpc_connector); setting either replaces the other.
    type: list
    elements: dict
    suboptions:
      network:
        description: The VPC network. Left out, the network of O(network_interfaces[].subnetwork).
        type: str
      subnetwork:
        description: The subnetwork the instances take addresses from. Left out, the one named like the network.
        type: str
      tags:
        description: Network tags of the instances, for firewall rules.
        type: list
        elements: str
  vpc_egress:
    description: Which egress goes through the VPC connector or the network interfaces.
    type: str
    choices: [all-traffic, private-ranges-only]
  labels:
    description:
      - Service labels. Unset leaves labels untouched.
      - Keys start with a lowercase letter; keys and values hold at most 63 lowercase letters, digits, C(_) or C(-).
    type: dict
  purge_labels:
    description: Remove labels not in O(labels). Has no effect when O(labels) is unset.
    type: bool
    default: true
  annotations:
    description:
      - Service annotations. Unset leaves them untouched. The namespaces C(run.googleapis.com),
        C(cloud.googleapis.com), C(serving.knative.dev) and C(autoscaling.knative.dev) are reserved.
    type: dict
  purge_annotations:
    description: Remove annotations not in O(annotations) (C(orchestra.gcp/stable-revision) is always kept).
    type: bool
    default: true
  traffic:
    description:
      - Where the traffic goes when a new revision is created.
      - V(latest) sends all of it to the new revision (as soon as it is ready).
      - V(revision) sends all of it to the new revision by name, with O(tag) on that same target; a later
        revision gets none of it until the traffic is moved. This is where a canary rollout leaves the
        traffic once it promoted, so a new service deployed this way is ready for the next rollout in one call.
      - V(none) keeps the current split and pins it to the revisions that serve now, as
        C(gcloud run deploy --no-traffic) does; use it with O(tag) to reach the new revision at its
        tag URL. A new service cannot be created with V(none).
    type: str
    choices: [latest, revision, none]
    default: latest
  tag:
    description: Traffic tag for the new revision (a lowercase DNS label). Moves the tag if another revision holds it.
    type: str
  revision_suffix:
    description: Name the new revision C(NAME-SUFFIX) instead of C(NAME-NNNNN-xyz). Changing it creates a revision.
    type: str
notes:
  - Requires C(google-cloud-run) on the host that runs the task.
"""

EXAMPLES = r"""
- name: Deploy AI Orchestra and send it all the traffic
  orchestra.gcp.cloud_run_service:
    name: ai-orchestra
    region: us-central1
    image: us-docker.pkg.dev/orchestra-prod/app/ai-orchestra:1.4.2
    cpu: "2"
    memory: 2Gi
    min_instances: 1
    max_instances: 20
    concurrency: 80
    env:
      LOG_LEVEL: info
    secret_env:
      OPENAI_API_KEY: {secret: openai-api-key, version: "3"}
    labels:
      app: ai-orchestra
      env: prod

- name: Deploy a canary revision without traffic, reachable at its tag URL
  orchestra.gcp.cloud_run_service:
    name: ai-orchestra
    region: us-central1
    image: us-docker.pkg.dev/orchestra-prod/app/ai-orchestra:1.5.0
    traffic: none
    tag: canary
  register: canary

- name: Smoke-test the canary
  ansible.builtin.uri:
    url: "{{ canary.tag_url }}/healthz"

- name: Set auth once for every orchestra.gcp task
  module_defaults:
    group/orchestra.gcp.gcp:
      project: orchestra-prod
      impersonate_service_account: deployer@orchestra-prod.iam.gserviceaccount.com
  block:
    - name: Remove a retired service
      orchestra.gcp.cloud_run_service:
        name: ai-orchestra-legacy
        region: europe-west1
        state: absent
"""

RETURN = r"""
service:
  description: The service as it stands after the task (predicted in check mode), in the API's fields (snake_case).
  returned: when O(state=present)
  type: dict
  sample:
    name: projects/orchestra-prod/locations/us-central1/services/ai-orchestra
    uri: https://ai-orchestra-abc123-uc.a.run.app
    latest_ready_revision: projects/orchestra-prod/locations/us-central1/services/ai-orchestra/revisions/ai-orchestra-00007-kiq
    traffic_statuses: [{type_: TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, revision: ai-orchestra-00007-kiq, percent: 100}]
revision:
  description: The revision this task created, or the latest ready revision when none was created.
  returned: when O(state=present)
  type: str
  sample: ai-orchestra-00007-kiq
created_revision:
  description: Whether the task created (or, in check mode, would create) a new revision.
  returned: when O(state=present)
  type: bool
url:
  description: The service URL.
  returned: when O(state=present)
  type: str
tag_url:
  description: The URL of O(tag), which reaches the tagged revision only.
  returned: when O(tag) is set
  type: str
  sample: https://canary---ai-orchestra-abc123-uc.a.run.app
reconciling:
  description:
    - Whether Cloud Run is still rolling the change out (with O(wait=false), or while another change reconciles).
      Until it is done, Google reports transient values in the latest ready revision, the traffic statuses and
      RV(url), and the service's etag changes once more when the rollout settles.
  returned: when O(state=present)
  type: bool
  sample: false
changed_options:
  description: The options whose live value differed from the one asked for.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [image, memory]
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._run import SERVICE_SPEC, deploy_service


def main():
    GcpModule(**SERVICE_SPEC).run(deploy_service)


if __name__ == "__main__":
    main()
