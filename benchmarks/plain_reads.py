"""The reads an idempotent ``deploy.yml -i inventories/local`` re-run makes, as a plain Python script
with the same client libraries: the baseline of benchmarks/run.py.

    plain_reads.py ENDPOINT PROJECT SERVICE REGION [REGION ...]

The emulator's health check (what ``orchestra-gcp-emulator start`` asks), then in each region the
service, read twice: where the rollout stands (cloud_run_rollout_status), and the spec to compare
with (cloud_run_service, which finds nothing to roll out).
"""

import sys
import urllib.request

from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2


def main(endpoint, project, service, *regions):
    with urllib.request.urlopen(endpoint + "/_emulator/health", timeout=10) as answer:
        answer.read()
    client = run_v2.ServicesClient(credentials=AnonymousCredentials(), transport="rest",
                                   client_options={"api_endpoint": endpoint})
    for region in regions:
        for _read in ("status", "spec"):
            client.get_service(name="projects/%s/locations/%s/services/%s" % (project, region, service))


if __name__ == "__main__":
    main(*sys.argv[1:])
