# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: access_token
author: AI Orchestra platform team (@ai-orchestra)
version_added: 0.2.0
short_description: An OAuth access token of the credentials orchestra.gcp's modules use
description:
  - Returns an OAuth 2.0 access token of the credentials that orchestra.gcp's modules would use with the same
    options, found in the same order (options, then E(GCP_AUTH_KIND), E(GCP_SERVICE_ACCOUNT_FILE),
    E(GCP_SERVICE_ACCOUNT_CONTENTS), E(GCE_CREDENTIALS_FILE_PATH), then Application Default Credentials), for the
    tasks that call a Google API themselves, for example M(ansible.builtin.uri) with an C(Authorization) header.
  - The token is fetched once per credential in a run and reused by the collection's modules and later lookups
    until shortly before it expires, as the modules' own tokens are.
  - The options are keyword arguments; C(module_defaults) do not reach a lookup, so give the options the modules get
    there, or set them in the environment.
  - B(The token is a secret) for as long as it lives (an hour). Use it only in tasks with C(no_log), never in a
    task's name, a fact, a message, a debug or a command line.
options:
  service_account_contents:
    description:
      - The contents of a service account key, as JSON text or a mapping.
      - Defaults to E(GCP_SERVICE_ACCOUNT_CONTENTS).
    type: raw
extends_documentation_fragment:
  - orchestra.gcp.gcp
notes:
  - O(request_timeout) bounds each request for the token.
  - Against the emulator (a plain C(http://) O(api_endpoint)), the modules call anonymously unless O(auth_kind),
    O(service_account_file) or O(service_account_contents) is given; without one of them there is no token, and
    the lookup fails.
  - It takes no terms.
seealso:
  - name: Using OAuth 2.0 to access Google APIs
    description: Access tokens, and the C(Authorization) header that carries them.
    link: https://developers.google.com/identity/protocols/oauth2
"""

EXAMPLES = r"""
- name: Read a secret's current value with ansible.builtin.uri (hidden)
  ansible.builtin.uri:
    url: https://secretmanager.googleapis.com/v1/projects/my-project/secrets/db-password/versions/latest:access
    headers:
      Authorization: "Bearer {{ lookup('orchestra.gcp.access_token') }}"
    return_content: true
  register: db_password
  no_log: true

- name: The same, as a service account impersonated with a key file
  ansible.builtin.uri:
    url: https://secretmanager.googleapis.com/v1/projects/my-project/secrets/db-password/versions/latest:access
    headers:
      Authorization: >-
        Bearer {{ lookup('orchestra.gcp.access_token', service_account_file='/etc/ci/key.json',
                         impersonate_service_account='reader@my-project.iam.gserviceaccount.com') }}
  register: db_password
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One item, the access token, valid for a few more minutes at least.
    - A secret. Use it only in tasks with C(no_log).
  type: list
  elements: str
"""

import functools

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import (
    AUTH_ARGSPEC, AUTH_MUTUALLY_EXCLUSIVE, GOOGLE_IMPORT_ERROR, GcpError, Session, missing_libraries)

if not GOOGLE_IMPORT_ERROR:
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.auth import credentials as gcreds

display = Display()

# Where the credentials come from when no option names them, in the order the modules look (resolve_credentials).
TRIED = ("the options service_account_contents, service_account_file and auth_kind; the environment variables "
         "GCP_SERVICE_ACCOUNT_CONTENTS, GCP_SERVICE_ACCOUNT_FILE, GCE_CREDENTIALS_FILE_PATH and GCP_AUTH_KIND; then "
         "Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials, "
         "the metadata server)")


def auth_params(options):
    """The auth options as the modules validate them: same names, types, defaults and environment fallbacks."""
    result = ArgumentSpecValidator(AUTH_ARGSPEC, mutually_exclusive=AUTH_MUTUALLY_EXCLUSIVE).validate(options)
    if result.error_messages:
        raise AnsibleLookupError("orchestra.gcp.access_token: %s." % "; ".join(result.error_messages))
    return result.validated_parameters


def access_token(params):
    """An access token of the credentials ``params`` resolve to, from the run's token cache when it holds one."""
    missing = missing_libraries()
    if missing:
        raise AnsibleLookupError(missing_required_lib(", ".join(missing)))
    try:
        creds, _project, source = Session(params).resolve()
    except GcpError as e:
        raise AnsibleLookupError("orchestra.gcp.access_token could not load credentials. It looked, in order, at %s. %s"
                                 % (TRIED, e.msg))
    if isinstance(creds, gcreds.AnonymousCredentials):
        raise AnsibleLookupError("orchestra.gcp.access_token has no token to give: against the emulator at %s the collection calls "
                                 "anonymously. Hint: pass auth_kind, service_account_file or service_account_contents to use real "
                                 "credentials there, or send no Authorization header to the emulator." % params["api_endpoint"])
    if not creds.valid:
        request = functools.partial(google.auth.transport.requests.Request(), timeout=params["request_timeout"])
        try:
            creds.refresh(request)
        except google.auth.exceptions.GoogleAuthError as e:
            raise AnsibleLookupError("orchestra.gcp.access_token failed to get an access token of %s: %s. Hint: check the key or "
                                     "the login (gcloud auth application-default login); to impersonate, the caller needs "
                                     "roles/iam.serviceAccountTokenCreator on the service account." % (source, e))
    display.vvv("orchestra.gcp.access_token: an access token of %s" % source)
    return creds.token


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("orchestra.gcp.access_token takes no terms, only options (keyword arguments); got %d term(s)."
                                     % len(terms))
        return [access_token(auth_params(kwargs))]
