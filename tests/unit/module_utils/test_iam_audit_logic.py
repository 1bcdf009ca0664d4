# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iam_audit's rules on Google's recorded answers (a project policy, a Cloud Run service and its empty policy, a
service account and its key) given one of each finding: each found once with its severity; a clean project: none."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils import _iam_audit

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
PROJECT = "orchestra-prod"
NOW = datetime.datetime(2024, 9, 1, tzinfo=datetime.timezone.utc)  # the recorded key was made 2024-04-01T12:34:56Z: 152 days before
OWNER = "user:owner@example.com"
DEV_DEPLOYER = "serviceAccount:deployer@orchestra-dev.iam.gserviceaccount.com"
STAGING_POOL = "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/*"
UNTIL = {"title": "until-2027", "expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}


def real(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def params(**overrides):
    p = {k: v.get("default") for k, v in _iam_audit.IAM_AUDIT_SPEC["argument_spec"].items()}
    p.update(regions=["us-central1"], allowed_basic=[OWNER], other_projects=["orchestra-dev", "123456789012"], **overrides)
    return p


def service(name, ingress):
    found = real("run_v2_service_latest.json")
    return dict(found, name="projects/%s/locations/us-central1/services/%s" % (PROJECT, name), ingress=ingress)


def account():
    found = real("iam_service_account_create.json")
    email = "deployer@%s.iam.gserviceaccount.com" % PROJECT
    return dict(found, email=email, name="projects/%s/serviceAccounts/%s" % (PROJECT, email), projectId=PROJECT)


def key(created):
    return dict(real("iam_service_account_key_get.json"), name=account()["name"] + "/keys/" + created[:10], validAfterTime=created)


def clean():
    """A project with only what is expected: its owner, a service agent, one private internal service, one public
    service declared public, a private secret, and a service account without keys."""
    policy = copy.deepcopy(real("resourcemanager_project_policy.json"))
    policy["bindings"] += [{"role": "roles/owner", "members": [OWNER]},
                           {"role": "roles/editor", "members": ["serviceAccount:1050123458401@cloudservices.gserviceaccount.com"]},
                           {"role": "roles/run.developer", "members": ["serviceAccount:deployer@%s.iam.gserviceaccount.com" % PROJECT]}]
    public = {"etag": "BwYA", "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}
    acting = {"etag": "BwYD", "bindings": [{"role": "roles/iam.serviceAccountUser", "members": ["serviceAccount:ci@%s.iam.gserviceaccount.com" % PROJECT]}]}
    return dict(project=PROJECT, policy=policy, accounts=[dict(account=account(), keys=[], policy=acting)],
                services=[dict(service=service("ai-orchestra", "INGRESS_TRAFFIC_ALL"), policy=public),
                          dict(service=service("worker", "INGRESS_TRAFFIC_INTERNAL_ONLY"), policy=real("run_v2_iam_policy_empty.json"))],
                secrets=[dict(name="projects/%s/secrets/redis-password" % PROJECT, policy={
                    "etag": "BwYB", "bindings": [{"role": "roles/secretmanager.secretAccessor",
                                                  "members": ["serviceAccount:api@%s.iam.gserviceaccount.com" % PROJECT]}]})],
                buckets=[dict(name="projects/_/buckets/orchestra-backups", policy=real("storage_bucket_iam_policy.json"))])


def clean_params():
    return params(public_services=["ai-orchestra"], internal_services=["worker"])


def test_a_clean_project_has_no_finding():
    assert _iam_audit.findings(clean(), clean_params(), NOW) == []
    assert _iam_audit.counts([]) == {"critical": 0, "high": 0, "medium": 0, "low": 0}


def found(state, p):
    return [(f["severity"], f["rule"], f["resource"], f["principal"], f["role"]) for f in _iam_audit.findings(state, p, NOW)]


def test_one_of_each_finding_is_found_with_its_severity_the_most_severe_first():
    state = clean()
    project = "projects/" + PROJECT
    state["policy"]["bindings"] += [
        {"role": "roles/owner", "members": ["user:ada@example.com"]},
        {"role": "roles/editor", "members": ["serviceAccount:1050123458401-compute@developer.gserviceaccount.com"]},
        {"role": "roles/viewer", "members": ["group:auditors@example.com"]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:bob@example.com"]},
        {"role": "roles/iam.serviceAccountUser", "members": ["user:bob@example.com"], "condition": UNTIL},
        {"role": "roles/logging.viewer", "members": [DEV_DEPLOYER]},
    ]
    state["accounts"][0]["keys"] = [key("2024-04-01T12:34:56Z"), key("2024-08-20T00:00:00Z")]
    worker = state["services"][1]
    worker["service"]["ingress"] = "INGRESS_TRAFFIC_ALL"
    worker["policy"] = {"etag": "BwYC", "bindings": [{"role": "roles/run.invoker", "members": ["allAuthenticatedUsers", STAGING_POOL]}]}
    secret = state["secrets"][0]
    secret["policy"]["bindings"].append({"role": "roles/secretmanager.secretAccessor", "members": ["allUsers"]})
    state["accounts"][0]["policy"]["bindings"].append({"role": "roles/iam.serviceAccountTokenCreator", "members": ["allAuthenticatedUsers"]})
    state["buckets"][0]["policy"]["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    worker_name, secret_name, keys = worker["service"]["name"], secret["name"], state["accounts"][0]["account"]["name"] + "/keys/"
    account_name = state["accounts"][0]["account"]["name"]
    deployer = "serviceAccount:deployer@%s.iam.gserviceaccount.com" % PROJECT

    assert found(state, clean_params()) == [
        ("critical", "basic_role", project, "user:ada@example.com", "roles/owner"),
        ("critical", "public_access", "projects/_/buckets/orchestra-backups", "allUsers", "roles/storage.objectViewer"),
        ("critical", "public_access", secret_name, "allUsers", "roles/secretmanager.secretAccessor"),
        ("critical", "public_access", account_name, "allAuthenticatedUsers", "roles/iam.serviceAccountTokenCreator"),
        ("high", "basic_role", project, "serviceAccount:1050123458401-compute@developer.gserviceaccount.com", "roles/editor"),
        ("high", "other_environment", project, DEV_DEPLOYER, "roles/logging.viewer"),
        ("high", "other_environment", worker_name, STAGING_POOL, "roles/run.invoker"),
        ("high", "project_wide_impersonation", project, "user:bob@example.com", "roles/iam.serviceAccountTokenCreator"),
        ("high", "project_wide_impersonation", project, "user:bob@example.com", "roles/iam.serviceAccountUser"),
        ("high", "public_service", worker_name, "allAuthenticatedUsers", "roles/run.invoker"),
        ("high", "service_account_key", keys + "2024-04-01", deployer, None),
        ("medium", "ingress_all", worker_name, None, None),
        ("medium", "service_account_key", keys + "2024-08-20", deployer, None),
        ("low", "basic_role", project, "group:auditors@example.com", "roles/viewer"),
    ]
    assert _iam_audit.counts(_iam_audit.findings(state, clean_params(), NOW)) == {"critical": 4, "high": 7, "medium": 2, "low": 1}


def test_each_finding_says_what_and_how_to_fix_it():
    state = clean()
    state["services"][0]["policy"]["bindings"][0]["members"].append(DEV_DEPLOYER)
    state["policy"]["bindings"].append({"role": "roles/iam.serviceAccountUser", "members": ["user:bob@example.com"], "condition": UNTIL})
    state["accounts"][0]["keys"] = [key("2024-04-01T12:34:56Z")]
    by_rule = {f["rule"]: f for f in _iam_audit.findings(state, params(), NOW)}
    public = by_rule["public_service"]
    assert public["what"] == ("Cloud Run service ai-orchestra in us-central1 can be invoked by allUsers, and the environment does not "
                              "declare it public")
    assert public["fix"] == ("Revoke it: orchestra.gcp.iam_binding with resource {type: cloud_run_service, name: ai-orchestra, region: "
                             "us-central1}, role roles/run.invoker, members [allUsers], state absent; or add ai-orchestra to "
                             "public_services if it is meant to be public.")
    assert "of project orchestra-dev of another environment" in by_rule["other_environment"]["what"]
    impersonation = by_rule["project_wide_impersonation"]
    assert "under condition 'until-2027'" in impersonation["what"]
    assert ("resource {type: project, name: orchestra-prod}, role roles/iam.serviceAccountUser, members [user:bob@example.com] and "
            "condition {title: until-2027, expression: %s}, state absent" % UNTIL["expression"]) in impersonation["fix"]
    old = by_rule["service_account_key"]
    assert (old["age_days"], old["severity"]) == (152, "high")
    assert old["what"] == "Service account deployer@orchestra-prod.iam.gserviceaccount.com has a user-managed key 152 days old (older than 90 days)"
    assert old["fix"].endswith("gcloud iam service-accounts keys delete 2024-04-01 --iam-account=deployer@orchestra-prod.iam.gserviceaccount.com.")
    assert all(set(f) >= {"severity", "resource", "principal", "role", "what", "fix"} for f in by_rule.values())


@pytest.mark.parametrize("member, other", [
    ("serviceAccount:api@orchestra-dev.iam.gserviceaccount.com", True),
    ("serviceAccount:123456789012-compute@developer.gserviceaccount.com", True),
    ("serviceAccount:orchestra-dev@appspot.gserviceaccount.com", True),
    ("principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/subject/repo:acme/app", True),
    ("serviceAccount:api@orchestra-prod.iam.gserviceaccount.com", False),
    ("serviceAccount:service-123456789012@gcp-sa-run.iam.gserviceaccount.com", False),  # a service agent: Google's project
    ("user:dev@orchestra-dev.iam.gserviceaccount.com", False),
    ("principalSet://iam.googleapis.com/projects/999/locations/global/workloadIdentityPools/github/*", False),
])
def test_principals_of_another_environment_are_told_by_their_project(member, other):
    policy = {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": [member]}]}
    rules = [f["rule"] for f in _iam_audit.policy_findings("projects/%s/secrets/s" % PROJECT, policy, params())]
    assert rules == (["other_environment"] if other else [])


def test_allowed_basic_compares_emails_without_case_and_key_age_follows_the_option():
    state = clean()
    state["policy"]["bindings"][-3]["members"] = ["user:Owner@Example.com"]
    state["accounts"][0]["keys"] = [key("2024-04-01T12:34:56Z")]
    assert [f[:2] for f in found(state, params(max_key_age_days=200))] == [("high", "public_service"), ("medium", "service_account_key")]
    assert [f[:2] for f in found(state, params(max_key_age_days=151))] == [("high", "public_service"), ("high", "service_account_key")]
