# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Common options of every orchestra.gcp module: project, credentials and endpoint.
    DOCUMENTATION = r"""
options:
  project:
    description:
      - The Google Cloud project ID.
      - Defaults to E(GCP_PROJECT), then AWX's E(GCE_PROJECT), then the project of the credentials.
    type: str
  auth_kind:
    description:
      - V(application) uses Application Default Credentials (C(google.auth.default)), which covers
        C(gcloud auth application-default login), the metadata server and Workload Identity Federation
        C(external_account) files named by E(GOOGLE_APPLICATION_CREDENTIALS).
      - V(serviceaccount) uses O(service_account_file) or O(service_account_contents).
      - When unset, E(GCP_AUTH_KIND) decides; without it, a key file or contents given by option or
        environment (E(GCP_SERVICE_ACCOUNT_FILE), E(GCP_SERVICE_ACCOUNT_CONTENTS), AWX's
        E(GCE_CREDENTIALS_FILE_PATH)) is used, and Application Default Credentials otherwise.
    type: str
    choices: [application, serviceaccount]
  service_account_file:
    description:
      - Path to a service account key (JSON).
      - Other credential files (C(external_account) for Workload Identity Federation, C(authorized_user))
        are read by Application Default Credentials from E(GOOGLE_APPLICATION_CREDENTIALS).
      - Defaults to E(GCP_SERVICE_ACCOUNT_FILE), then E(GCE_CREDENTIALS_FILE_PATH).
    type: path
  service_account_contents:
    description:
      - The contents of a service account key (JSON). Never logged nor returned.
      - Defaults to E(GCP_SERVICE_ACCOUNT_CONTENTS).
    type: jsonarg
  impersonate_service_account:
    description:
      - Act as this service account (its email), using the credentials found above to obtain
        short-lived tokens. The caller needs C(roles/iam.serviceAccountTokenCreator) on it.
      - Defaults to E(GCP_IMPERSONATE_SERVICE_ACCOUNT).
    type: str
  scopes:
    description: OAuth scopes requested for the credentials.
    type: list
    elements: str
    default: [https://www.googleapis.com/auth/cloud-platform]
  api_endpoint:
    description:
      - Base URL that every API call goes to instead of Google's endpoints.
      - A plain C(http://) URL is the local emulator and is used with anonymous credentials.
      - Defaults to E(ORCHESTRA_GCP_ENDPOINT).
    type: str
  request_timeout:
    description:
      - Seconds one API request may take. Transient failures (429, 500, 502, 503, 504) are retried
        with capped exponential backoff and jitter for up to 60 seconds.
    type: float
    default: 60
requirements:
  - python >= 3.9
  - google-auth >= 2.30
  - google-api-core >= 2.19
"""

    # The options that name a Cloud Run service (LOCATION_ARGSPEC in module_utils/_gcp.py).
    CLOUD_RUN_SERVICE = r"""
options:
  name:
    description: Service name; lowercase letters, digits and hyphens, starting with a letter, under 50 characters.
    type: str
    required: true
  region:
    description: Cloud Run region, for example C(us-central1).
    type: str
    required: true
    aliases: [location]
"""

    # The resource of an IAM policy, and the clients that reach each kind (module_utils/_iam.py).
    IAM_RESOURCE = r"""
options:
  resource:
    description: The resource whose IAM policy is managed.
    type: dict
    required: true
    suboptions:
      type:
        description: What the resource is.
        type: str
        required: true
        choices: [bucket, cloud_run_service, project, secret, service_account]
      name:
        description:
          - A short name, completed with O(project) (and O(resource.region) for a Cloud Run service), or the resource's
            full name, like C(projects/P/locations/R/services/S), C(projects/P/secrets/S), C(projects/P),
            C(projects/P/serviceAccounts/EMAIL) or C(projects/_/buckets/B).
          - For a project, its ID; left out, O(project). For a service account, its email (its project is inferred from
            it) or its account ID in O(project). For a Cloud Storage bucket, its name (3 to 63 lowercase letters, digits,
            C(-), C(_) or C(.), starting and ending with a letter or digit; bucket names are global).
        type: str
      region:
        description: The region of a Cloud Run service named by its short name.
        type: str
        aliases: [location]
requirements:
  - google-cloud-resource-manager >= 1.12
  - google-cloud-run >= 0.10
  - google-cloud-secret-manager >= 2.20
  - google-api-python-client >= 2.100
"""

    # Where the backups of a Memorystore instance are (orchestra.gcp.redis_backup and the modules that read them).
    REDIS_BACKUP = r"""
options:
  instance:
    description: The Memorystore for Redis instance (its ID) whose backups these are.
    type: str
    required: true
  region:
    description: The region of the instance.
    type: str
    required: true
    aliases: [location]
  bucket:
    description: The Cloud Storage bucket (its name) that holds the backups.
    type: str
    required: true
  prefix:
    description: Where in the bucket; the backups of an instance are under C(<prefix>/<region>/<instance>/).
    type: str
    default: redis
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait for the long-running operation to finish. When V(false), the task returns as soon as
        Google accepted the change.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the operation. On timeout the task fails and returns the partial state.
    type: int
    default: 600
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
  action_group:
    description: Use C(group/orchestra.gcp.gcp) in C(module_defaults) to set its options once.
    support: full
    membership: [orchestra.gcp.gcp]
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This action does not modify state.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: This action does not modify state.
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
  action_group:
    description: Use C(group/orchestra.gcp.gcp) in C(module_defaults) to set its options once.
    support: full
    membership: [orchestra.gcp.gcp]
"""
