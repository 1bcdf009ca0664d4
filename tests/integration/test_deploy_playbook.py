"""deploy.yml on the local inventory, run the way users run it: ansible-playbook from the checkout."""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from urllib.parse import quote, urlparse
from urllib.request import urlopen

import pytest
import requests
import yaml
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_v1
from googleapiclient.discovery import build
from orchestra_emulator.projects import project_number

from conftest import REPO, routed
from test_iam_bindings import accounts, buckets, live
from test_secrets import client as secret_manager


def recap(stdout):
    """PLAY RECAP: host -> {ok, changed, unreachable, failed, ...}."""
    return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
            for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout.split("PLAY RECAP")[-1], re.M)}


# What a first deploy changes besides the regions: the declared secret created, its first value added, the backups'
# bucket created, the service accounts created, CI's workload identity pool, its GitHub provider and the deployer's
# binding for it, the bindings applied, and the Serverless VPC Access connector the local service reaches Redis through
# created (its health check changes nothing); then, once the regions rolled out, the environment's alerting: its
# channel, its uptime checks, Secret Manager's Data Access audit logs turned on, the secret-read metrics, the alert
# policies and the dashboard (each a task of its own).
SETUP_CHANGES = 15
ALERTS = ["5xx ratio", "p99 latency", "instances at their maximum", "uptime check failing", "Redis memory", "Redis connected clients",
          "no recent verified Redis backup", "secret rotation overdue", "secret read by an undeclared principal"]
# What a first deploy changes in each region: the Redis instance created, the service created, and its invoker binding.
REGION_CHANGES = 3

LOCAL = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "gcp.yml").read_text())
LOCAL_EMULATOR_CONFIG = LOCAL["local_emulator_config"]


def ansible_playbook(emulated, *args, playbook="deploy.yml", succeed=True):
    """Run ``playbook`` on inventories/local against the test's emulator, configured as the inventory configures
    its own (so the local_emulator role finds nothing to change); returns (changes on all hosts, stdout)."""
    emulated.emulator.admin("config", LOCAL_EMULATOR_CONFIG)
    port = urlparse(emulated.endpoint).port
    env = dict(os.environ, NO_GCE_CHECK="true", ANSIBLE_NOCOLOR="1")
    env.pop("ORCHESTRA_GCP_ENDPOINT", None)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-i", "inventories/local",
           "-e", "gcp_project=%s" % emulated.project, "-e", "gcp_project_number=%d" % project_number(emulated.project),
           "-e", "gcp_api_endpoint=%s" % emulated.endpoint,
           "-e", "local_emulator_port=%d" % port, *args]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode == 0) == succeed, done.stdout + done.stderr
    hosts = recap(done.stdout)
    assert "orchestra-local" in hosts, done.stdout
    return sum(h["changed"] for h in hosts.values()), done.stdout


def test_deploy_then_redeploy_changes_nothing(emulated, tmp_path):
    changed, out = ansible_playbook(emulated, "--check")
    assert changed >= 1, out
    assert emulated.emulator.log() == []  # check mode: not one mutating call

    changed, out = ansible_playbook(emulated, "-vvvv", "--diff")
    # The emulator already ran: the secret created, its first value added, the service created with its revision
    # tagged stable at 100%, pinned to the version current names, and invokable by the deployer alone.
    assert changed == REGION_CHANGES + SETUP_CHANGES, out
    secrets = secret_manager(emulated)
    secret = secrets.get_secret(name="projects/%s/secrets/orchestra-redis-password" % emulated.project)
    assert dict(secret.version_aliases) == {"current": 1} and secret.rotation.rotation_period.days == 30
    first = secrets.access_secret_version(name=secret.name + "/versions/current").payload.data
    assert len(first) == 32
    assert first.decode() not in out, "the generated value is in the output of -vvvv --diff"
    service = emulated.service("ai-orchestra")
    assert dict(service.labels) == {"app": "ai-orchestra", "env": "local"}
    assert service.template.scaling.max_instance_count == 2
    assert pinned_version(service) == "1"
    # Least privilege: the service runs as the runtime account, which alone may read the secret.
    runtime = "orchestra-runtime@%s.iam.gserviceaccount.com" % emulated.project
    assert service.template.service_account == runtime
    accessors = [b for b in secrets.get_iam_policy(request={"resource": secret.name}).bindings
                 if b.role == "roles/secretmanager.secretAccessor"]
    assert [list(b.members) for b in accessors] == [["serviceAccount:" + runtime]]
    # CI deploys as the deployer through Workload Identity Federation: only the repository's workflows may act as it.
    deployer = "projects/%s/serviceAccounts/orchestra-deployer@%s.iam.gserviceaccount.com" % (emulated.project, emulated.project)
    (federated,) = accounts(emulated).getIamPolicy(resource=deployer).execute()["bindings"]
    assert federated["role"] == "roles/iam.workloadIdentityUser" and len(federated["members"]) == 1
    assert federated["members"][0].endswith("/workloadIdentityPools/orchestra-ci/attribute.repository/ai-orchestra/ai-orchestra")
    # The backups' bucket as declared; the backup account is its objectAdmin and holds nothing on the project.
    bucket = "%s-redis-backups" % emulated.project
    backups = buckets(emulated).get(bucket=bucket).execute()
    assert (backups["location"], backups["versioning"], backups["iamConfiguration"]["publicAccessPrevention"],
            backups["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"], backups["lifecycle"]["rule"]) == (
        "US-CENTRAL1", {"enabled": True}, "enforced", True, [{"action": {"type": "Delete"}, "condition": {"isLive": False, "daysSinceNoncurrentTime": 30}}])
    assert "retentionPolicy" not in backups, "a bucket retention policy would forbid pruning backups and recording their verification"
    backup = "serviceAccount:orchestra-backup@%s.iam.gserviceaccount.com" % emulated.project
    bucket_policy = buckets(emulated).getIamPolicy(bucket=bucket, optionsRequestedPolicyVersion=3).execute()
    assert [b["role"] for b in bucket_policy["bindings"] if backup in b["members"]] == ["roles/storage.objectAdmin"]
    # Memorystore exports and imports as the instance's persistence identity: objectAdmin of the bucket too.
    redis_instance = redis(emulated).get_instance(name="projects/%s/locations/us-central1/instances/orchestra-redis" % emulated.project)
    assert (redis_instance.tier.name, redis_instance.memory_size_gb, dict(redis_instance.redis_configs)) == ("BASIC", 1, {"maxmemory-policy": "volatile-lru"})
    assert [b["members"] for b in bucket_policy["bindings"] if b["role"] == "roles/storage.objectAdmin"] == [
        [backup, redis_instance.persistence_iam_identity]]
    assert not [b["role"] for b in live(emulated, "project", "projects/" + emulated.project).get("bindings", []) if backup in b["members"]]
    invokers = emulated.services.get_iam_policy(request={"resource": service.name}).bindings
    assert [(b.role, list(b.members)) for b in invokers] == [
        ("roles/run.invoker", ["serviceAccount:orchestra-deployer@%s.iam.gserviceaccount.com" % emulated.project])]
    answer = requests.get(service.uri, timeout=5).json()
    assert answer["service"] == "ai-orchestra" and answer["env_sha256"]["REDIS_PASSWORD"] == hashlib.sha256(first).hexdigest()
    assert_alerting(emulated, service, runtime)

    # Redis backups: one taken and verified in a scratch instance, which is deleted after; none again within the hour.
    changed, out = ansible_playbook(emulated, playbook="playbooks/backup_redis.yml")
    assert changed == 5, out  # the backup, the scratch instance, the restore into it, the verification recorded, its deletion
    (taken,) = [item["name"] for item in storage_objects(emulated, bucket) if item["name"].endswith(".json")]
    assert json.loads(storage_object(emulated, bucket, taken))["verification"]["state"] == "passed"
    assert [i.name.rsplit("/", 1)[1] for i in redis(emulated).list_instances(parent="projects/%s/locations/us-central1" % emulated.project)] == [
        "orchestra-redis"]
    assert ansible_playbook(emulated, playbook="playbooks/backup_redis.yml")[0] == 0
    # A restore needs the instance's name as its confirmation.
    mutations = len(emulated.emulator.log())
    _changed, out = ansible_playbook(emulated, playbook="playbooks/restore_redis.yml", succeed=False)
    assert "set confirm to 'orchestra-redis' to go ahead" in out and len(emulated.emulator.log()) == mutations
    changed, out = ansible_playbook(emulated, "-e", "confirm=orchestra-redis", playbook="playbooks/restore_redis.yml")
    assert changed == 1 and "Restored backup %s" % taken.rsplit("/", 1)[1][:-5] in out, out

    mutations = len(emulated.emulator.log())
    changed, out = ansible_playbook(emulated)
    assert changed == 0, out
    changed, out = ansible_playbook(emulated, "--check")
    assert changed == 0, out
    assert len(emulated.emulator.log()) == mutations

    # A rotation rolls the service, its consumer, to the new version; the next deploy resolves current to it: no change.
    ansible_playbook(emulated, "-e", "secret=orchestra-redis-password", playbook="playbooks/rotate_secrets.yml")
    secret = secrets.get_secret(name=secret.name)
    assert dict(secret.version_aliases) == {"current": 2, "previous": 1}
    assert pinned_version(emulated.service("ai-orchestra")) == "2"
    mutations = len(emulated.emulator.log())
    changed, out = ansible_playbook(emulated)
    assert changed == 0, out
    assert len(emulated.emulator.log()) == mutations

    # A deploy that changes Redis backs its data up first, then changes it in place.
    bigger = json.dumps({"orchestra_redis": dict(LOCAL["orchestra_redis"], memory_size_gb=2)})
    changed, out = ansible_playbook(emulated, "-e", bigger)
    assert changed == 2, out  # the backup, the change
    calls = [(c["method"], c["path"].rsplit("/", 1)[1]) for c in emulated.emulator.log()[mutations:] if "/instances/" in c["path"]]
    assert calls == [("POST", "orchestra-redis:export"), ("PATCH", "orchestra-redis")], calls

    # An alert that must fire does: half the service's requests fail, the emulator's evaluation of the 5xx-ratio policy
    # opens an alert, and the report draws it open.
    emulated.emulator.admin("revision-behaviour", {"image": "*:1.0.0", "error_ratio": 0.5})
    deadline, opened = time.time() + 60, []
    while not opened and time.time() < deadline:
        for _request in range(10):
            requests.get(service.uri, timeout=5)
        alerts = monitoring(emulated).alerts().list(parent="projects/" + emulated.project, filter='state = "OPEN"').execute()
        opened = [a for a in alerts.get("alerts", []) if a["policy"]["displayName"] == "AI Orchestra local: 5xx ratio"]
        time.sleep(1)
    assert opened and opened[0]["resource"]["labels"]["service_name"] == "ai-orchestra", "the 5xx ratio alert did not open"
    reports = tmp_path / "reports"
    ansible_playbook(emulated, "-e", "monitoring_report_dir=%s" % reports, "-e", "window=1h", playbook="playbooks/monitoring_report.yml")
    (page,) = reports.glob("monitoring-%s-*.html" % emulated.project)
    row = r'<tr class="policy" data-state="(\w+)">\s*<td[^>]*>[^<]*</td>\s*<td><b>AI Orchestra local: ([^<]+)</b>'
    rows = {name: state for state, name in re.findall(row, page.read_text())}
    assert sorted(rows) == sorted(ALERTS) and rows["5xx ratio"] == "open", rows
    assert "orchestra-dev@ai-orchestra.example" not in page.read_text() and "AI Orchestra local developers (email)" in page.read_text()


def monitoring(emulated):
    return build("monitoring", "v3", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulated.endpoint}).projects()


def assert_alerting(emulated, service, runtime):
    """The environment's alerting as the monitoring role made it, read with Google's REST clients."""
    api, project = monitoring(emulated), "projects/" + emulated.project
    policies = {p["displayName"]: p for p in api.alertPolicies().list(name=project).execute()["alertPolicies"]}
    assert sorted(policies) == sorted("AI Orchestra local: " + name for name in ALERTS)
    (channel,) = api.notificationChannels().list(name=project).execute()["notificationChannels"]
    assert (channel["type"], channel["labels"]) == ("email", {"email_address": "orchestra-dev@ai-orchestra.example"})
    assert all(p["notificationChannels"] == [channel["name"]] and p["userLabels"]["env"] == "local" for p in policies.values())
    ratio = policies["AI Orchestra local: 5xx ratio"]["conditions"][0]["conditionThreshold"]
    assert 'metric.label.response_code_class="5xx"' in ratio["filter"] and ratio["denominatorAggregations"] == ratio["aggregations"]
    assert policies["AI Orchestra local: instances at their maximum"]["conditions"][0]["conditionThreshold"]["thresholdValue"] == 2
    (check,) = api.uptimeCheckConfigs().list(parent=project).execute()["uptimeCheckConfigs"]
    assert check["monitoredResource"]["labels"]["host"] == urlparse(service.uri).hostname
    # Reads of the secret by anyone but the runtime account are counted apart, from the Data Access audit logs.
    audit = live(emulated, "project", project)["auditConfigs"]
    assert {"service": "secretmanager.googleapis.com", "auditLogConfigs": [{"logType": "DATA_READ"}]} in audit
    logging = build("logging", "v2", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emulated.endpoint}).projects().metrics()
    undeclared = logging.get(metricName="%s/metrics/orchestra_secret_access_undeclared" % project).execute()
    assert 'NOT protoPayload.authenticationInfo.principalEmail="%s"' % runtime in undeclared["filter"]
    dashboard = build("monitoring", "v1", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                      client_options={"api_endpoint": emulated.endpoint}).projects().dashboards().list(parent=project).execute()
    (board,) = dashboard["dashboards"]
    titles = [w["title"] for w in board["gridLayout"]["widgets"]]
    assert board["displayName"] == "AI Orchestra local" and set(ALERTS) <= set(titles), titles


def redis(emulated):
    return redis_v1.CloudRedisClient(transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulated.endpoint))


def storage_objects(emulated, bucket):
    with urlopen("%s/storage/v1/b/%s/o" % (emulated.endpoint, bucket), timeout=30) as answer:
        return json.load(answer).get("items", [])


def storage_object(emulated, bucket, name):
    with urlopen("%s/storage/v1/b/%s/o/%s?alt=media" % (emulated.endpoint, bucket, quote(name, safe="")), timeout=30) as answer:
        return answer.read()


def pinned_version(service):
    """The version the service's template pins REDIS_PASSWORD to."""
    return next(e.value_source.secret_key_ref.version for e in service.template.containers[0].env if e.name == "REDIS_PASSWORD")


@pytest.mark.one_core  # the drill walks the rollback on every core
def test_rollback_playbook_returns_to_the_last_stable_revision_in_one_update(emulated):
    assert ansible_playbook(emulated)[0] == REGION_CHANGES + SETUP_CHANGES
    first = emulated.revision_names("ai-orchestra")[0]
    changed, out = ansible_playbook(emulated, "-e", "orchestra_image=us-docker.pkg.dev/orchestra-local/app/ai-orchestra:2.0.0")
    assert changed == 3, out  # the canary, its step at 50%, its promotion; the invokers are as declared
    mutations = len(emulated.emulator.log())

    changed, out = ansible_playbook(emulated, playbook="playbooks/rollback.yml")

    assert changed == 1, out
    assert [(revision, percent) for _type, revision, percent, _tag in routed(emulated.service("ai-orchestra")) if percent] == [
        (first, 100)]
    assert [c["method"] for c in emulated.emulator.log()[mutations:]] == ["PATCH"]
    assert ansible_playbook(emulated, playbook="playbooks/rollback.yml")[0] == 0


@pytest.mark.one_core  # call counts: module logic, the same on every core
def test_a_first_deploy_is_one_call_and_the_next_rollout_promotes_from_it(emulated):
    changed, out = ansible_playbook(emulated)

    assert changed == REGION_CHANGES + SETUP_CHANGES, out
    (create, invoker) = [call for call in emulated.emulator.log() if "/services" in call["path"]]
    assert invoker["path"].endswith("/services/ai-orchestra:setIamPolicy")
    assert (create["method"], create["path"]) == ("POST", "/v2/projects/%s/locations/us-central1/services" % emulated.project)
    (first,) = emulated.revision_names("ai-orchestra")
    assert routed(emulated.service("ai-orchestra")) == [("REVISION", first, 100, "stable")]
    status = {"orchestra.gcp.cloud_run_rollout_status": dict(name="ai-orchestra", region="us-central1")}
    play = emulated.run([dict(name="status", **status)])
    assert play.rc == 0, play.stdout
    now = play.task("status")
    assert (now["phase"], now["problems"], now["stable"], now["canary"], now["serving"]) == ("idle", [], first, None, {first: 100})

    changed, out = ansible_playbook(emulated, "-e", "orchestra_image=us-docker.pkg.dev/orchestra-local/app/ai-orchestra:2.0.0")

    assert changed == 3, out  # the canary, its step at 50%, its promotion; the invokers are as declared
    assert [c["method"] for c in emulated.emulator.log() if "/services" in c["path"]][2:] == ["PATCH"] * 3
    first_again, second = emulated.revision_names("ai-orchestra")
    service = emulated.service("ai-orchestra")
    assert first_again == first and routed(service) == [("REVISION", second, 100, "stable")]
    assert service.annotations["orchestra.gcp/stable-revision"] == first


TWO_REGIONS = '{"orchestra_regions": ["us-central1", "europe-west1"]}'


def serving_in(emulated, region):
    service = emulated.services.get_service(name="projects/%s/locations/%s/services/ai-orchestra" % (emulated.project, region))
    return {(revision, percent) for _type, revision, percent, _tag in routed(service) if percent}


def release(version, **more):
    return json.dumps(dict(orchestra_image="us-docker.pkg.dev/orchestra-local/app/ai-orchestra:" + version,
                           orchestra_regions=["us-central1", "europe-west1"], **more))


@pytest.mark.one_core
def test_two_regions_one_failing_rolls_back_that_region_only(emulated):
    assert ansible_playbook(emulated, "-e", TWO_REGIONS)[0] == 2 * REGION_CHANGES + SETUP_CHANGES
    before = {region: serving_in(emulated, region) for region in ("us-central1", "europe-west1")}
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0", "revision": "projects/*/locations/europe-west1/*",
                                                   "error_ratio": 0.5})

    _changed, out = ansible_playbook(emulated, "-e", release("2.0.0"), succeed=False)

    hosts = recap(out)
    assert hosts["orchestra-local-europe-west1"]["failed"] == 1 and hosts["orchestra-local-us-central1"]["failed"] == 0
    assert serving_in(emulated, "europe-west1") == before["europe-west1"]
    (promoted, percent), = serving_in(emulated, "us-central1")
    assert percent == 100 and (promoted, 100) not in before["us-central1"]


def test_two_regions_one_failing_rolls_back_every_region_under_the_policy_all(emulated):
    assert ansible_playbook(emulated, "-e", TWO_REGIONS)[0] == 2 * REGION_CHANGES + SETUP_CHANGES
    before = {region: serving_in(emulated, region) for region in ("us-central1", "europe-west1")}
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0", "revision": "projects/*/locations/europe-west1/*",
                                                   "error_ratio": 0.5})

    _changed, out = ansible_playbook(emulated, "-e", release("2.0.0", orchestra_rollout_on_region_failure="all"),
                                     succeed=False)

    assert "Stopped in us-central1: orchestra-local-europe-west1 did not pass" in out
    assert {region: serving_in(emulated, region) for region in before} == before


@pytest.mark.one_core  # the policy all's send-back is walked on every core by the test before
def test_a_region_failing_at_its_promotion_sends_promoted_regions_back_under_the_policy_all(emulated, tmp_path):
    """europe-west1's promotion is refused (400) while us-central1's goes through: us-central1 goes back too."""
    assert ansible_playbook(emulated, "-e", TWO_REGIONS)[0] == 2 * REGION_CHANGES + SETUP_CHANGES
    before = {region: serving_in(emulated, region) for region in ("us-central1", "europe-west1")}
    hook = tmp_path / "refuse_promotion.yml"
    hook.write_text("""
- name: refuse the next update of the service in europe-west1
  ansible.builtin.uri:
    url: "%s/_emulator/faults"
    method: POST
    body_format: json
    body: {method: PATCH, path: "/locations/europe-west1/services/ai-orchestra$", status: 400, count: 1}
  when: cloud_run_rollout_region == 'europe-west1'
""" % emulated.endpoint)

    extra = release("2.0.0", orchestra_rollout_on_region_failure="all", cloud_run_rollout_hooks={"after_step": str(hook)})
    _changed, out = ansible_playbook(emulated, "-e", extra, succeed=False)

    assert recap(out)["orchestra-local-us-central1"]["failed"] == 0
    assert {region: serving_in(emulated, region) for region in before} == before
    assert re.search(r"Send this region back .*\n(changed|ok): \[orchestra-local-us-central1\]", out), out


def test_rollback_drill_proves_the_stable_revision_comes_back_and_times_it(emulated):
    assert ansible_playbook(emulated)[0] == REGION_CHANGES + SETUP_CHANGES
    (stable, _percent), = serving_in(emulated, "us-central1")

    _changed, out = ansible_playbook(emulated, playbook="playbooks/rollback_drill.yml")

    assert serving_in(emulated, "us-central1") == {(stable, 100)}
    drill = emulated.revision_names("ai-orchestra")[-1]
    assert emulated.service("ai-orchestra").annotations["orchestra.gcp/rejected-revisions"] == drill
    seconds = float(re.search(r"Rollback drill in us-central1 passed: %s failed its verdict and %s serves 100%% again, "
                              r"confirmed ([0-9.]+) s after the verdict" % (drill, stable), out).group(1))
    assert 0 < seconds < 30
    # the deploy after a drill rolls out the spec again (the drill left its own template) and succeeds
    assert ansible_playbook(emulated)[0] == 3
