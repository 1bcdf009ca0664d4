"""playbooks/audit_iam.yml through ansible-runner against a project built in the emulator with the official clients
and IAM's REST API: one of each finding is reported, in the Markdown report and in AWX's stats, and fails the run at
fail_at; once the project is cleaned, the same run finds nothing and succeeds. The audit never writes."""

import pathlib

import pytest
import yaml
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, options_pb2

from conftest import REPO
from test_cloud_run_service import IMAGE
from test_iam_bindings import accounts, buckets, grant, live, make_secret, policy_client
from test_rotation import client as secret_manager

OWNER = "user:owner@example.com"  # the emulator's owner of a new project
ADA, BOB, AUDITORS = "user:ada@example.com", "user:bob@example.com", "group:auditors@example.com"
DEV_DEPLOYER = "serviceAccount:deployer@orchestra-dev.iam.gserviceaccount.com"
INVOKER, ACCESSOR = "roles/run.invoker", "roles/secretmanager.secretAccessor"


def create_service(backend, name, ingress):
    template = run_v2.RevisionTemplate(containers=[run_v2.Container(image=IMAGE % "1.0.0")])
    backend.services.create_service(parent="projects/%s/locations/%s" % (backend.project, backend.region), service_id=name,
                                    service=run_v2.Service(template=template, ingress=ingress)).result()
    return backend.path(name)


def revoke(backend, kind, name, members):
    """Another admin's read-modify-write with the official client: ``members`` out of every binding."""
    client = policy_client(backend, kind)
    policy = client.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(
        resource=name, options=options_pb2.GetPolicyOptions(requested_policy_version=3)))
    kept = []
    for binding in policy.bindings:
        left = [m for m in binding.members if m not in members]
        if left:
            del binding.members[:]
            binding.members.extend(left)
            kept.append(binding)
    del policy.bindings[:]
    policy.bindings.extend(kept)
    client.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=name, policy=policy))


def sections(report):
    """The report's findings per severity: (rule, resource, principal, role) of each table row."""
    found, severity = {}, None
    for line in report.splitlines():
        if line.startswith("## "):
            severity = line[3:].split(" ")[0].lower()
            found[severity] = []
        elif line.startswith("| ") and not line.startswith("| Rule"):
            found[severity].append(tuple(cell.strip() for cell in line.strip("|").split(" | ")[:4]))
    return found


@pytest.mark.one_core  # test_rotation's playbook scenario walks the same paths (module_defaults, an inventory) on every core
def test_the_audit_reports_one_of_each_finding_fails_at_fail_at_and_passes_once_cleaned(emulated, tmp_path):
    project = "projects/%s" % emulated.project
    grant(emulated, "project", project, [{"role": "roles/editor", "members": [ADA]}, {"role": "roles/viewer", "members": [AUDITORS]},
                                         {"role": "roles/iam.serviceAccountTokenCreator", "members": [BOB]},
                                         {"role": "roles/logging.viewer", "members": [DEV_DEPLOYER]}])
    iam = accounts(emulated)
    created = iam.create(name=project, body={"accountId": emulated.name("sa")}).execute()
    key = iam.keys().create(name=created["name"], body={}).execute()
    acting = {"bindings": [{"role": "roles/iam.serviceAccountUser", "members": [DEV_DEPLOYER]}]}  # who may act as the account
    iam.setIamPolicy(resource=created["name"], body={"policy": acting}).execute()
    worker = emulated.name("worker")
    worker_path = create_service(emulated, worker, run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL)
    site = emulated.name("site")
    site_path = create_service(emulated, site, run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL)
    for path in (worker_path, site_path):
        grant(emulated, "cloud_run_service", path, [{"role": INVOKER, "members": ["allUsers"]}])
    secret, secret_path = make_secret(emulated)
    grant(emulated, "secret", secret_path, [{"role": ACCESSOR, "members": ["allAuthenticatedUsers"]}])
    listed = secret_manager(emulated).get_secret(name=secret_path).name  # Google names it by the project's number
    bucket = emulated.name("backups")
    buckets(emulated).insert(project=emulated.project, body={"name": bucket}).execute()
    public = buckets(emulated).getIamPolicy(bucket=bucket).execute()
    public["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    buckets(emulated).setIamPolicy(bucket=bucket, body=public).execute()

    reports = tmp_path / "reports"
    inventory = yaml.safe_dump({"gcp": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "gcp_project": emulated.project, "gcp_api_endpoint": emulated.endpoint, "orchestra_regions": [emulated.region],
        "orchestra_iam_audit": {"allowed_basic": [OWNER], "public_services": [site], "internal_services": [worker],
                                "other_projects": ["orchestra-dev"]}}}}})
    playbook = (REPO / "playbooks" / "audit_iam.yml").read_text()

    def audit():
        writes = len(emulated.emulator.log())
        play = emulated.run_playbook(playbook, inventory=inventory, extravars={"audit_report_dir": str(reports)})
        assert emulated.emulator.log()[writes:] == []  # reads only
        written = sorted(reports.glob("iam-audit-%s-*.md" % emulated.project))
        report = written[-1].read_text()
        for path in written:
            path.unlink()
        return play, report, written[-1]

    play, report, path = audit()
    assert play.rc != 0
    result = play.task("Audit the IAM of the project")
    assert not result["changed"] and result["counts"] == {"critical": 2, "high": 5, "medium": 2, "low": 1}
    key_name = key["name"]
    account = "serviceAccount:" + created["email"]
    assert sections(report) == {
        "critical": [("public_access", listed, "allAuthenticatedUsers", ACCESSOR),
                     ("public_access", "projects/_/buckets/" + bucket, "allUsers", "roles/storage.objectViewer")],
        "high": [("basic_role", project, ADA, "roles/editor"), ("other_environment", project, DEV_DEPLOYER, "roles/logging.viewer"),
                 ("other_environment", created["name"], DEV_DEPLOYER, "roles/iam.serviceAccountUser"),
                 ("project_wide_impersonation", project, BOB, "roles/iam.serviceAccountTokenCreator"),
                 ("public_service", worker_path, "allUsers", INVOKER)],
        "medium": [("ingress_all", worker_path, "", ""), ("service_account_key", key_name, account, "")],
        "low": [("basic_role", project, AUDITORS, "roles/viewer")],
    }
    assert report.startswith("# IAM audit of %s\n" % emulated.project) and "Fails at: high.\ncritical: 2, high: 5, medium: 2, low: 1.\n" in report
    assert "1 service accounts with 1 user-managed keys;\n2 Cloud Run services in %s;\n1 secrets." % emulated.region in report
    failed = play.task("Fail on findings at or above fail_at")
    assert failed["_failed"] and failed["msg"].startswith("7 finding(s) at or above high in project %s (report: %s)" % (emulated.project, path))
    assert "ingress" not in failed["msg"] and "user-managed key" not in failed["msg"]  # medium: under fail_at
    stats = play.task("Hand the audit to AWX")["ansible_stats"]["data"]["iam_audit"][emulated.project]
    assert (stats["counts"], stats["passed"], stats["report"], stats["fail_at"]) == (result["counts"], False, str(path), "high")

    # Cleaned: the grants revoked, the key deleted, the worker internal; the declared public site stays as it is.
    revoke(emulated, "project", project, [ADA, AUDITORS, BOB, DEV_DEPLOYER])
    revoke(emulated, "secret", secret_path, ["allAuthenticatedUsers"])
    iam.setIamPolicy(resource=created["name"], body={"policy": {}}).execute()
    public["bindings"].pop()
    buckets(emulated).setIamPolicy(bucket=bucket, body=dict(public, etag=buckets(emulated).getIamPolicy(bucket=bucket).execute()["etag"])).execute()
    revoke(emulated, "cloud_run_service", worker_path, ["allUsers"])
    iam.keys().delete(name=key_name).execute()
    internal = emulated.services.get_service(name=worker_path)
    internal.ingress = run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_ONLY
    emulated.services.update_service(service=internal).result()
    assert live(emulated, "cloud_run_service", site_path)["bindings"] == [{"role": INVOKER, "members": ["allUsers"]}]

    play, report, path = audit()
    assert play.rc == 0, play.stdout
    result = play.task("Audit the IAM of the project")
    assert (result["findings"], result["counts"]) == ([], {"critical": 0, "high": 0, "medium": 0, "low": 0})
    assert result["audited"]["user_managed_keys"] == 0 and result["audited"]["secrets"] == [listed]
    assert sections(report) == {"critical": [], "high": [], "medium": [], "low": []} and report.count("None.") == 4
    assert play.task("Hand the audit to AWX")["ansible_stats"]["data"]["iam_audit"][emulated.project]["passed"] is True
    assert pathlib.Path(path).parent == reports
