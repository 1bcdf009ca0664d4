"""Cloud Resource Manager API v3 (cloudresourcemanager.v3.json): projects.get and the IAM policies of projects.

The emulator has no project registry (projects.py): every project exists, named by id or by number, and
both name the same project. Its policy is stored under `projects/{number}` in iam.Policies, with the rules
of project policies: `allUsers` and `allAuthenticatedUsers` are refused ("Project does not support allUsers
and allAuthenticatedUsers as members in a Binding of a Policy", the v1 setIamPolicy reference, quoted in
hashicorp/terraform-provider-google pull request 859; Google's answer recorded in
tests/fixtures/google/resourcemanager_public_member_refused.json), `auditConfigs` are kept and masked by
`updateMask` (the default mask `bindings,etag`, `SetIamPolicyRequest.updateMask` in the discovery document). The
policy-version refusals are Google's answers in tests/fixtures/google/resourcemanager_get_policy_version_below_existing.json
and resourcemanager_set_policy_version_below_existing.json (applied in iam.py).

A project nobody wrote a policy for has the one a new project has on Google: its creator as owner. The
emulator knows no creator, so the owner is PROJECT_OWNER; the policy is version 1, as Google reports an
unconditional project policy (tests/fixtures/google/resourcemanager_project_policy.json), and its etag is
stable per project until the first write.
"""

import base64
import hashlib

from orchestra_emulator.iam import Policies
from orchestra_emulator.projects import project_number
from orchestra_emulator.registry import EmulatedApi, register

PROJECT_OWNER = "user:owner@example.com"


def initial_policy(resource):
    """The policy of project `resource` (`projects/{number}`) before anyone wrote one."""
    etag = base64.b64encode(hashlib.sha256(resource.encode()).digest()[:8]).decode()
    return {"version": 1, "etag": etag, "bindings": [{"role": "roles/owner", "members": [PROJECT_OWNER]}]}


def _project(_data, variables):
    return f"projects/{project_number(variables['projectsId'])}"


@register
class ResourceManagerV3(EmulatedApi):
    document = "cloudresourcemanager.v3"
    proto_package = "google.cloud.resourcemanager.v3"

    def __init__(self, shared):
        super().__init__(shared)
        self.policies = Policies(shared.store, self.document, public_members=False, initial=initial_policy)
        prefix = "cloudresourcemanager.projects."
        self.handlers = {
            prefix + "get": (self.get_project, None),
            **self.policies.handlers(prefix, _project, ""),
        }

    def get_project(self, request):
        """The project, named by its number; a project named by its id shows it as `projectId` (one named by
        its number has no id the emulator knows)."""
        project = request.variables["projectsId"]
        found = {"name": _project(None, request.variables), "state": "ACTIVE"}
        if not project.isdigit():
            found.update(projectId=project, displayName=project)
        return found
