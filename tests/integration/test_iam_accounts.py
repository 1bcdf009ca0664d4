"""service_account, workload_identity_pool and workload_identity_provider through ansible-runner against the emulator's
IAM v1; what IAM holds is read back over its REST API with google-api-python-client."""

import httplib2
import pytest
from googleapiclient import discovery

from test_iam_bindings import assert_four, four

REPOSITORY = "ai-orchestra/orchestra"


def iam(backend):
    """IAM v1 over REST with google-api-python-client (google-cloud-iam has no REST transport)."""
    return discovery.build("iam", "v1", static_discovery=True, http=httplib2.Http(),
                           client_options={"api_endpoint": backend.endpoint}).projects()


def account(account_id, **options):
    return {"orchestra.gcp.service_account": dict(account_id=account_id, **options)}


def pool(pool_id, **options):
    return {"orchestra.gcp.workload_identity_pool": dict(pool_id=pool_id, **options)}


def provider(pool_id, provider_id, **options):
    return {"orchestra.gcp.workload_identity_provider": dict(pool_id=pool_id, provider_id=provider_id, **options)}


@pytest.mark.one_core
def test_accounts_pools_and_a_github_provider_converge_and_a_deleted_pool_comes_back(emulated):
    emulated.emulator.admin("config", {"operation_seconds": 0.3})  # pool and provider operations are polled
    project = emulated.project
    email = "deployer@%s.iam.gserviceaccount.com" % project
    account_name = "projects/%s/serviceAccounts/%s" % (project, email)
    pool_path = "projects/%s/locations/global/workloadIdentityPools/ci-pool" % project
    play = emulated.run(
        four("account", account("deployer", display_name="Deployer", description="Deploys from GitHub Actions"))
        + four("disable", account("deployer", disabled=True))
        + four("enable", account("deployer", disabled=False, display_name="Orchestra deployer"))
        + four("pool", pool("ci-pool", display_name="CI", description="GitHub Actions"))
        + four("provider", provider("ci-pool", "github", github_repository=REPOSITORY, display_name="GitHub")))
    assert play.rc == 0, play.stdout
    for label in ("account", "disable", "enable", "pool", "provider"):
        assert_four(play, label)

    created = play.task("account apply 1")
    assert created["account"]["email"] == email and created["account"]["unique_id"] and created["account"]["disabled"] is False
    assert created["user_managed_keys"] == []
    predicted = {"display_name": "Deployer", "description": "Deploys from GitHub Actions", "disabled": False}
    assert play.task("account check 1")["diff"] == {"before": {}, "after": predicted}
    assert play.task("disable apply 1")["account"]["disabled"] is True
    assert play.task("enable check 1")["diff"]["before"]["disabled"] is True
    live = iam(emulated).serviceAccounts().get(name=account_name).execute()
    assert live["displayName"] == "Orchestra deployer" and live["description"] == "Deploys from GitHub Actions" and "disabled" not in live

    # The pool and the provider are named by project number; the provider trusts one repository's workflows only.
    live_pool = iam(emulated).locations().workloadIdentityPools().get(name=pool_path).execute()
    assert (live_pool["displayName"], live_pool["state"]) == ("CI", "ACTIVE") and live_pool["name"].split("/")[1].isdigit()
    assert play.task("pool apply 2")["pool"] == live_pool
    live_provider = iam(emulated).locations().workloadIdentityPools().providers().get(name=pool_path + "/providers/github").execute()
    assert live_provider["attributeCondition"] == "assertion.repository == 'ai-orchestra/orchestra'"
    assert live_provider["attributeMapping"] == {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository",
                                                 "attribute.repository_owner": "assertion.repository_owner", "attribute.ref": "assertion.ref"}
    assert live_provider["oidc"]["issuerUri"] == "https://token.actions.githubusercontent.com"
    principal = "principalSet://iam.googleapis.com/%s/attribute.repository/%s" % (live_pool["name"], REPOSITORY)
    assert play.task("provider check 1")["principal_set"] == principal, "predicted with the pool's project number"
    assert play.task("provider apply 2")["principal_set"] == principal

    # A user-managed key someone made is reported for audits; a deleted pool asked present is undeleted, then changed.
    iam(emulated).serviceAccounts().keys().create(name=account_name, body={}).execute()
    since = len(emulated.emulator.log())
    play = emulated.run([dict(name="audit", **account("deployer")), dict(name="delete pool", **pool("ci-pool", state="absent")),
                         dict(name="delete pool again", **pool("ci-pool", state="absent"))]
                        + four("back", pool("ci-pool", display_name="CI again")))
    assert play.rc == 0, play.stdout
    audit = play.task("audit")
    assert not audit["changed"] and len(audit["user_managed_keys"]) == 1 and audit["user_managed_keys"][0]["age_days"] == 0
    assert "1 user-managed key(s)" in audit["warnings"][0]
    assert play.task("delete pool")["pool"]["state"] == "DELETED" and not play.task("delete pool again")["changed"]
    assert_four(play, "back")
    assert play.task("back check 1")["undeleted"] and play.task("back check 1")["changed_options"] == ["display_name"]
    live_pool = iam(emulated).locations().workloadIdentityPools().get(name=pool_path).execute()
    assert (live_pool["displayName"], live_pool["state"]) == ("CI again", "ACTIVE") and "expireTime" not in live_pool
    assert [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in emulated.emulator.log()[since:]] == [
        ("DELETE", "ci-pool"), ("POST", "ci-pool:undelete"), ("PATCH", "ci-pool")], "no key made, one call per change"


@pytest.mark.one_core
def test_bad_input_is_refused_before_any_change(emulated):
    pools = iam(emulated).locations().workloadIdentityPools()
    pools.create(parent="projects/%s/locations/global" % emulated.project, workloadIdentityPoolId="ci-pool", body={}).execute()
    mapping = {"google.subject": "assertion.sub"}
    cases = [
        ("account id", account("Deployer_1"), "account_id 'Deployer_1' must have 6 to 30"),
        ("account email", account("deployer@orchestra-test.iam.gserviceaccount.com"), "is an email"),
        ("account name", account("deployer", display_name="x" * 101), "display_name must have at most 100"),
        ("reserved pool", pool("gcp-ci"), "not start with gcp-"),
        ("pool name", pool("ci-pool", display_name="x" * 33), "display_name must have at most 32"),
        ("repository", provider("ci-pool", "github", github_repository="orchestra"), "must be OWNER/REPO"),
        ("no subject", provider("ci-pool", "github", attribute_mapping={"attribute.ref": "assertion.ref"}, attribute_condition="true"),
         "must map google.subject"),
        ("http issuer", provider("ci-pool", "github", issuer_uri="http://issuer.example.com", github_repository=REPOSITORY), "https:// URL"),
        ("unconditioned", provider("ci-pool", "github", attribute_mapping=mapping), "needs an attribute_condition"),
        ("new without mapping", provider("ci-pool", "github", attribute_condition="assertion.sub != ''"), "needs attribute_mapping"),
    ]
    since = len(emulated.emulator.log())
    play = emulated.run([dict(name=label, ignore_errors=True, **task) for label, task, _unused in cases]
                        + [dict(name="missing pool", ignore_errors=True, **provider("no-pool", "github", github_repository=REPOSITORY))])
    for label, _unused, message in cases:
        result = play.task(label)
        assert result["_failed"] and message in result["msg"] and "Nothing was changed" in result["msg"], (label, result["msg"])
    assert "the pool does not exist" in play.task("missing pool")["msg"]
    assert emulated.emulator.log()[since:] == []


def test_the_iam_role_lets_one_repository_s_ci_act_as_the_deployer(emulated):
    """The iam role's Workload Identity Federation for CI: check mode on a fresh project (the pool a task before would
    make), then apply, then nothing to change; the deployer may be acted as by that repository's workflows only."""
    project = emulated.project
    role = {"name": "iam", "ansible.builtin.include_role": {"name": "orchestra.gcp.iam"}, "vars": {
        "iam_service_accounts": [{"name": "orchestra-deployer"}],
        "iam_github_deployer": {"pool": "orchestra-ci", "provider": "github", "repository": REPOSITORY,
                                "service_account": "orchestra-deployer", "display_name": "Orchestra CI"}}}

    checked = emulated.run([role], check=True)
    assert checked.rc == 0, checked.stdout
    assert emulated.emulator.log() == []
    assert "check mode takes it as present" in " ".join(checked.task("Trust the GitHub Actions workflows of that repository, and no other")["warnings"])
    assert emulated.run([role]).rc == 0
    since = len(emulated.emulator.log())
    again = emulated.run([role])
    assert again.rc == 0 and again.changed() == [] and emulated.emulator.log()[since:] == []

    pool_name = iam(emulated).locations().workloadIdentityPools().get(
        name="projects/%s/locations/global/workloadIdentityPools/orchestra-ci" % project).execute()["name"]
    email = "orchestra-deployer@%s.iam.gserviceaccount.com" % project
    policy = iam(emulated).serviceAccounts().getIamPolicy(resource="projects/%s/serviceAccounts/%s" % (project, email)).execute()
    assert policy["bindings"] == [{"role": "roles/iam.workloadIdentityUser",
                                   "members": ["principalSet://iam.googleapis.com/%s/attribute.repository/%s" % (pool_name, REPOSITORY)]}]
