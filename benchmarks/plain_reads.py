"""The reads an idempotent ``deploy.yml -i inventories/local`` re-run makes, as a plain Python script
with the same client libraries: the baseline of benchmarks/run.py.

    plain_reads.py ENDPOINT PROJECT SERVICE REGION [REGION ...]

The emulator's health check (what ``orchestra-gcp-emulator start`` asks); the secrets the local inventory
declares: the list of secrets (the secrets role), then for each the secret, read twice (secret, and
secret_version), and the version its alias current names; then in each region the service, read twice:
where the rollout stands (cloud_run_rollout_status), and the spec to compare with (cloud_run_service,
which finds nothing to roll out).
"""

import pathlib
import sys
import urllib.request

import yaml
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, secretmanager_v1

INVENTORY = pathlib.Path(__file__).resolve().parents[1] / "inventories" / "local" / "group_vars" / "gcp.yml"


def main(endpoint, project, service, *regions):
    with urllib.request.urlopen(endpoint + "/_emulator/health", timeout=10) as answer:
        answer.read()
    options = {"api_endpoint": endpoint}
    secrets = secretmanager_v1.SecretManagerServiceClient(credentials=AnonymousCredentials(), transport="rest", client_options=options)
    list(secrets.list_secrets(parent="projects/" + project))
    for declared in yaml.safe_load(INVENTORY.read_text())["orchestra_secrets"]:
        for _read in ("secret", "secret_version"):
            secret = secrets.get_secret(name="projects/%s/secrets/%s" % (project, declared["name"]))
        secrets.get_secret_version(name="%s/versions/%s" % (secret.name, secret.version_aliases["current"]))
    client = run_v2.ServicesClient(credentials=AnonymousCredentials(), transport="rest", client_options=options)
    for region in regions:
        for _read in ("status", "spec"):
            client.get_service(name="projects/%s/locations/%s/services/%s" % (project, region, service))


if __name__ == "__main__":
    main(*sys.argv[1:])
