#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_run_load
short_description: Send load to a Cloud Run URL with ApacheBench, with the ID token a private service needs
version_added: 0.1.0
description:
  - Sends GET requests to O(url) with ApacheBench (C(ab)) at O(concurrency), for O(duration) seconds or O(requests)
    requests, whichever ends first, and returns the numbers C(ab) reports. It changes nothing in Google Cloud.
  - A Cloud Run service that does not grant C(roles/run.invoker) to C(allUsers) refuses requests without an ID token
    whose audience is its URL (403) and does not count them in its request metrics. The module mints that ID token
    from the task's credentials for O(audience) and sends it with every request, as the HTTP checks of
    M(orchestra.gcp.cloud_run_canary_analysis) do. A service account key signs its own request; impersonation asks IAM
    Credentials' C(generateIdToken). When the credentials cannot mint one (user credentials, an external account without
    impersonation, or none against the emulator), the load goes without a token and the task warns that a private
    service refuses it; the refused requests are counted in RV(non_2xx).
  - The token is never returned nor logged, and C(ab)'s command line is not returned. C(ab) takes headers on its
    command line only, so while it runs other local users of the controller can read the token from the process list
    (C(ps)) and use it until it expires (within the hour). Run where the process list is private - an AWX execution
    environment (a container per job), or a controller whose C(/proc) is mounted with C(hidepid=2) - when that matters.
  - Runs well as an C(async) task beside M(orchestra.gcp.cloud_run_canary_analysis), as the C(cloud_run_rollout) role does.
author: AI Orchestra platform team (@ai-orchestra)
options:
  url:
    description:
      - The http(s) URL to load, for example a revision's tag URL and a path.
    type: str
    required: true
  audience:
    description:
      - The audience of the ID token, the service URL (C(https://SERVICE-HASH-REGION.a.run.app)), which Google documents as
        the audience Cloud Run accepts.
      - Defaults to the scheme and host of O(url). Whether Google also accepts a tag URL as audience is not documented, so pass
        the service URL when O(url) is a tag URL.
    type: str
  duration:
    description:
      - Seconds to send load for. Without O(requests), C(ab) stops after 50000 requests at most.
      - At least one of O(duration) and O(requests) is required.
    type: int
  requests:
    description: How many requests to send, at least O(concurrency).
    type: int
  concurrency:
    description: How many requests are in flight at a time, 1 or more.
    type: int
    default: 4
  timeout:
    description: Seconds C(ab) waits for each response.
    type: int
    default: 30
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.info_module
requirements:
  - ApacheBench (C(ab)) on the PATH of the host the module runs on (Debian's C(apache2-utils), RHEL's C(httpd-tools)).
notes:
  - In check mode it sends no request; it says what it would send and whether an ID token would go with it.
  - C(ab) speaks HTTP/1.0 without keep-alive, so every request opens a connection (and a TLS handshake on https).
  - C(ab) accepts varying response lengths here (C(-l)), so RV(failed_requests) counts connection, receive and
    exception failures only; answers other than 2xx are RV(non_2xx).
"""

EXAMPLES = r"""
- name: Load the canary for the bake time, with an ID token when the service is private
  orchestra.gcp.cloud_run_load:
    url: "{{ canary_tag_url }}/healthz"
    audience: "{{ service_url }}"
    duration: 300
    concurrency: 8
  async: 360
  poll: 0
  register: load_job

- name: Wait for the load to end
  ansible.builtin.async_status:
    jid: "{{ load_job.ansible_job_id }}"
  register: load
  until: load is finished
  retries: 360
  delay: 1
"""

RETURN = r"""
url:
  description: The URL the load went to.
  returned: always
  type: str
token_sent:
  description: Whether an ID token went with the requests (in check mode, whether it would).
  returned: always
  type: bool
requests:
  description: The requests C(ab) completed (C(Complete requests)), failed ones included.
  returned: success and not check mode
  type: int
failed_requests:
  description: The requests that failed to connect, to be received, or with an exception (C(Failed requests)).
  returned: success and not check mode
  type: int
non_2xx:
  description: The answers whose status was not 2xx (C(Non-2xx responses)), such as the 403 of a private service.
  returned: success and not check mode
  type: int
per_second:
  description: Completed requests per second (C(Requests per second)); 0 when none completed.
  returned: success and not check mode
  type: float
time_per_request_ms:
  description: The mean time of a request in milliseconds (C(Time per request)); null when none completed.
  returned: success and not check mode
  type: float
seconds:
  description: How long the load took (C(Time taken for tests)).
  returned: success and not check mode
  type: float
msg:
  description: What the load would be.
  returned: check mode
  type: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._load import LOAD_SPEC, load


def main():
    GcpModule(**LOAD_SPEC).run(load)


if __name__ == "__main__":
    main()
