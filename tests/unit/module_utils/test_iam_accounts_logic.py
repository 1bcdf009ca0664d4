# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service accounts, workload identity pools and providers: logic that needs no API. Input validation, the GitHub
mapping and condition, the principal set, options read from Google's recorded answers, key ages, and operations
polled as the shared layer polls them."""

from __future__ import annotations

import datetime
import json
import pathlib

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils import _iam_accounts as accounts
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import changed_options, describe_api_error, read_options, write_options

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
REPOSITORY = "ai-orchestra/orchestra"


def real(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def params(spec, names, overrides):
    p = {k: v.get("default") for k, v in spec["argument_spec"].items()}
    p.update(names, **overrides)
    return p


def account(**overrides):
    return params(accounts.ACCOUNT_SPEC, dict(account_id="deployer"), overrides)


def pool(**overrides):
    return params(accounts.POOL_SPEC, dict(pool_id="ci-pool"), overrides)


def provider(**overrides):
    return params(accounts.PROVIDER_SPEC, dict(pool_id="ci-pool", provider_id="github", github_repository=REPOSITORY), overrides)


BAD = [
    (accounts.account_problems, account(account_id="Deployer"), "account_id 'Deployer' must have 6 to 30"),
    (accounts.account_problems, account(account_id="short"), "must have 6 to 30"),
    (accounts.account_problems, account(account_id="deployer-"), "not end with a hyphen"),
    (accounts.account_problems, account(account_id="deployer@p.iam.gserviceaccount.com"), "is an email"),
    (accounts.account_problems, account(display_name="é" * 51), "display_name must have at most 100"),
    (accounts.account_problems, account(description="x" * 257), "description must have at most 256"),
    (accounts.pool_problems, pool(pool_id="gcp-ci"), "not start with gcp-"),
    (accounts.pool_problems, pool(pool_id="CI_pool"), "pool_id 'CI_pool' must have 4 to 32"),
    (accounts.pool_problems, pool(display_name="x" * 33), "display_name must have at most 32"),
    (accounts.provider_problems, provider(provider_id="gh"), "provider_id 'gh' must have 4 to 32"),
    (accounts.provider_problems, provider(issuer_uri="http://token.example.com"), "must be an https:// URL"),
    (accounts.provider_problems, provider(allowed_audiences=["a"] * 11), "at most 10 audiences"),
    (accounts.provider_problems, provider(allowed_audiences=[""]), "of 1 to 256 characters"),
    (accounts.provider_problems, provider(github_repository="orchestra"), "must be OWNER/REPO"),
    (accounts.provider_problems, provider(github_repository="-owner/repo"), "must be OWNER/REPO"),
    (accounts.provider_problems, provider(github_repository=None, attribute_mapping={"attribute.ref": "assertion.ref"}),
     "must map google.subject"),
    (accounts.provider_problems, provider(github_repository=None, attribute_mapping={"google.subject": "assertion.sub", "Attribute.Ref": "x"}),
     "attribute_mapping key 'Attribute.Ref'"),
    (accounts.provider_problems, provider(github_repository=None, attribute_mapping={"google.subject": " "}), "must be a CEL expression"),
    (accounts.provider_problems, provider(github_repository=None, attribute_condition=""), "needs an attribute_condition"),
]


@pytest.mark.parametrize("problems_of, p, message", BAD, ids=[case[2] for case in BAD])
def test_bad_input_is_named(problems_of, p, message):
    problems = problems_of(p)
    assert any(message in problem for problem in problems), problems


def test_good_input_has_no_problem_and_absent_needs_only_the_names():
    assert accounts.account_problems(account(display_name="Deployer", description="CI")) == []
    assert accounts.pool_problems(pool(display_name="x" * 32)) == []
    assert accounts.provider_problems(provider(allowed_audiences=["https://github.com/ai-orchestra"])) == []
    assert accounts.provider_problems(provider(github_repository=None, attribute_condition="", allow_unconditioned=True)) == []
    assert accounts.provider_problems(provider(github_repository="not a repo", issuer_uri="ftp://x", state="absent")) == []
    assert len(accounts.provider_problems(provider(pool_id="gcp-x", provider_id="x", issuer_uri="http://x"))) == 3, "every problem at once"


def test_a_github_repository_maps_its_claims_and_pins_the_repository():
    mapping, condition = accounts.github_mapping(REPOSITORY)
    assert mapping == {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository",
                       "attribute.repository_owner": "assertion.repository_owner", "attribute.ref": "assertion.ref"}
    assert condition == "assertion.repository == 'ai-orchestra/orchestra'"
    want = accounts.wanted_provider(provider(display_name="GitHub"))
    assert want == dict(display_name="GitHub", issuer_uri="https://token.actions.githubusercontent.com",
                        attribute_mapping=mapping, attribute_condition=condition)
    mapping["attribute.ref"] = "changed"
    assert accounts.github_mapping(REPOSITORY)[0]["attribute.ref"] == "assertion.ref", "each provider gets its own mapping"


def test_the_principal_set_names_the_pool_by_project_number_as_google_answers_it():
    name = real("iam_workload_identity_pool_provider_get.json")["name"].rsplit("/providers/", 1)[0]
    assert name == real("iam_workload_identity_pool_get.json")["name"]
    assert accounts.principal_set(name, REPOSITORY) == (
        "principalSet://iam.googleapis.com/projects/916595846568/locations/global/workloadIdentityPools/iamwip-2okpok4nq8kgn"
        "/attribute.repository/ai-orchestra/orchestra")


def test_options_read_from_google_s_recorded_pool_and_provider():
    assert read_options(accounts.POOL_OPTIONS, real("iam_workload_identity_pool_get.json")) == dict(
        display_name="sample-pool", description="A sample workload identity pool using a newly created project", disabled=False)
    have = read_options(accounts.PROVIDER_OPTIONS, real("iam_workload_identity_pool_provider_get.json"))
    assert have == dict(display_name=None, description=None, disabled=False, issuer_uri="https://example.com/",
                        allowed_audiences=["sample-audience"], attribute_mapping={"google.subject": "true"}, attribute_condition=None)
    want = dict(issuer_uri="https://example.com/", allowed_audiences=["sample-audience"], disabled=False,
                attribute_condition="assertion.sub == 'x'")
    assert changed_options(accounts.PROVIDER_OPTIONS, want, have) == ["attribute_condition"], "disabled false is Google's unset"
    body = {}
    write_options(accounts.PROVIDER_OPTIONS, body, dict(issuer_uri="https://token.actions.githubusercontent.com", allowed_audiences=["sample-audience"]))
    assert body == {"oidc": {"issuerUri": "https://token.actions.githubusercontent.com", "allowedAudiences": ["sample-audience"]}}


def test_account_options_from_google_s_recorded_account():
    have = read_options(accounts.ACCOUNT_OPTIONS, real("iam_service_account_create.json"))
    assert have == dict(display_name="Test Service Account Full",
                        description="A test service account with all fields. This tests the description field.", disabled=False)
    assert changed_options(accounts.ACCOUNT_OPTIONS, dict(disabled=True, display_name="Test Service Account Full"), have) == ["disabled"]


def test_key_ages_oldest_first_from_google_s_recorded_key():
    recorded = real("iam_service_account_key_get.json")
    newer = dict(recorded, name=recorded["name"].rsplit("/", 1)[0] + "/keys/newer", validAfterTime="2099-01-01T00:00:00Z")
    created = datetime.datetime.fromisoformat(recorded["validAfterTime"].replace("Z", "+00:00"))
    ages = accounts.key_ages([newer, recorded], created + datetime.timedelta(days=400, hours=23))
    assert [age["key_id"] for age in ages] == [recorded["name"].rsplit("/", 1)[-1], "newer"]
    assert ages[0]["age_days"] == 400 and ages[0]["valid_after_time"] == recorded["validAfterTime"]


class Polled:
    """Google's recorded answers to operations.get, in order; what the shared layer's session executes."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.polled = []

    def execute(self, action, resource, request, idempotent):
        assert idempotent and action.startswith("poll operation")
        self.polled.append(request)
        return self.answers.pop(0)

    def operations(self):
        return self

    def get(self, name):
        return name


def test_an_operation_is_polled_until_done_and_ends_with_no_response_as_recorded():
    running, done = real("iam_workload_identity_pool_operation.json"), real("iam_workload_identity_pool_operation_done.json")
    session = Polled([running, done])
    operation = accounts.Operation(session, session, running, "workload identity pool p")
    assert operation.operation.name == running["name"]
    assert (operation.done(), operation.done(), operation.done()) == (False, True, True), "polled until done, then no more"
    assert session.polled == [running["name"], running["name"]]
    assert operation.exception() is None and operation.result() is None


def test_an_operation_error_is_named_by_its_status():
    failed = dict(real("iam_workload_identity_pool_operation.json"), done=True, error={"code": 9, "message": "The pool is deleted."})
    operation = accounts.Operation(None, None, failed, "workload identity pool p")
    assert operation.done() and describe_api_error(operation.exception()) == ("FAILED_PRECONDITION", "The pool is deleted.")
