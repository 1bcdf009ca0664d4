"""Google's token endpoints, as the google-auth flows call them, and the checks that use their tokens.

- OAuth 2.0 token endpoint `POST /token` (a service-account key's `token_uri`, form-encoded as
  https://developers.google.com/identity/protocols/oauth2/service-account#httprest): the JWT-bearer
  grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`) answers an access token for the assertion's
  `scope`, or an ID token for its `target_audience`; the `refresh_token` grant (authorized_user).
  Errors are OAuth's `{"error": "invalid_grant", "error_description": ...}` with 400.
- Security Token Service `POST /v1/token` (sts.v1 `sts.token`, form-encoded or JSON): token exchange
  for `external_account` credentials (Workload Identity Federation).
- IAM Credentials `POST /v1/projects/-/serviceAccounts/{sa}:generateAccessToken` and
  `:generateIdToken` (iamcredentials.v1), which need a valid bearer token of the caller.

Access tokens are opaque (`ya29.` and random characters, as Google's look); ID tokens are RS256 JWTs
signed by a key the emulator makes at start, with `iss`, `aud`, `azp`, `sub`, `email`, `iat` and
`exp`. Issued tokens live in memory: a restart or a reset forgets them. The emulator does not verify
the signature of an assertion (it has no public key of a key it did not issue) nor the Token Creator
permission: any known identity may impersonate.

Checks: with `check_tokens` on (admin), every API call but the token endpoints needs a bearer access
token the emulator issued and that has not expired, or is 401 UNAUTHENTICATED. Cloud Run's invoker
check reads the ID tokens (run_v2).
"""

import base64
import datetime
import secrets
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from orchestra_emulator.discovery import snake_case
from orchestra_emulator.errors import ApiError, invalid_argument
from orchestra_emulator.registry import EmulatedApi, register

OAUTH_TOKEN_PATH = "/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_ISSUER = "https://accounts.google.com"
# Google's message for a call without valid credentials (the same on every googleapis.com API).
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
                   "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
DEFAULTS = {"check_tokens": False, "token_seconds": 3600}


class OAuthError(Exception):
    """An OAuth 2.0 error response (RFC 6749 section 5.2), as Google's token endpoint sends them."""

    def __init__(self, error, description, http_status=400):
        super().__init__(description)
        self.http_status = http_status
        self.payload = {"error": error, "error_description": description}


class Tokens:
    """Every token the emulator issued, and the admin settings that use them (kept in the store)."""

    def __init__(self, store):
        self._store = store
        self._issued = {}  # token -> {"kind": "access" | "id", "email", "audience", "expiry"}
        self._lock = threading.Lock()
        self.admin = {("GET", "auth"): lambda _body: self.settings(), ("POST", "auth"): self.configure,
                      ("POST", "auth/expire"): self.expire}
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self._signer = crypt.RSASigner.from_string(pem, key_id=secrets.token_hex(20))

    def settings(self):
        with self._store.lock:
            return {**DEFAULTS, **self._store.data["admin"].get("auth", {})}

    def configure(self, body):
        unknown = set(body) - {"check_tokens", "token_seconds"}
        if unknown or not isinstance(body.get("check_tokens", False), bool) or not isinstance(body.get("token_seconds", 1), int):
            raise invalid_argument('Expected {"check_tokens": true|false, "token_seconds": N}.')
        with self._store.mutate() as data:
            data["admin"]["auth"] = {**self.settings(), **body}
            return data["admin"]["auth"]

    def expire(self, _body):
        """Every issued token expires now; the clients still believe theirs valid until their expiry."""
        with self._lock:
            for entry in self._issued.values():
                entry["expiry"] = min(entry["expiry"], time.time())
            return {"expired": len(self._issued)}

    def forget(self):
        with self._lock:
            self._issued.clear()

    def issue_access(self, email, lifetime=None):
        token = "ya29." + base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
        lifetime = lifetime or self.settings()["token_seconds"]
        with self._lock:
            self._issued[token] = {"kind": "access", "email": email, "audience": None, "expiry": time.time() + lifetime}
        return token, lifetime

    def issue_id(self, email, audience):
        now = int(time.time())
        claims = {"iss": ID_TOKEN_ISSUER, "aud": audience, "azp": email, "sub": email, "email": email,
                  "email_verified": True, "iat": now, "exp": now + self.settings()["token_seconds"]}
        token = jwt.encode(self._signer, claims).decode()
        with self._lock:
            self._issued[token] = {"kind": "id", "email": email, "audience": audience, "expiry": claims["exp"]}
        return token

    def valid(self, headers, kind):
        """The issued, unexpired token of `kind` the request carries, or None."""
        value = (headers or {}).get("Authorization", "")
        token = value[len("Bearer "):] if value.startswith("Bearer ") else None
        with self._lock:
            entry = self._issued.get(token)
            return entry if entry and entry["kind"] == kind and entry["expiry"] > time.time() else None

    def caller(self, headers):
        """The e-mail of the identity whose valid access token the request carries, else None."""
        return (self.valid(headers, "access") or {}).get("email")

    def check_call(self, headers):
        """A Google API call: refused with 401 when tokens are checked and its bearer is not valid."""
        if self.settings()["check_tokens"] and not self.valid(headers, "access"):
            raise ApiError("UNAUTHENTICATED", UNAUTHENTICATED)


class OAuth2:
    """`POST /token`: Google's OAuth 2.0 token endpoint (no discovery document describes it)."""

    def __init__(self, tokens):
        self._tokens = tokens

    def token(self, form):
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            return self._jwt_bearer(form.get("assertion", ""))
        if grant == "refresh_token":
            if not form.get("refresh_token") or not form.get("client_id"):
                raise OAuthError("invalid_request", "Missing required parameter: refresh_token or client_id")
            token, lifetime = self._tokens.issue_access(None)
            return {"access_token": token, "expires_in": lifetime, "scope": form.get("scope", ""), "token_type": "Bearer"}
        raise OAuthError("unsupported_grant_type", "Invalid grant_type: %s" % grant)

    def _jwt_bearer(self, assertion):
        try:
            claims = jwt.decode(assertion, verify=False)
        except ValueError:
            raise OAuthError("invalid_grant", "Invalid JWT: not a JWT") from None
        now = time.time()
        if not claims.get("iss") or not str(claims.get("aud", "")).endswith(OAUTH_TOKEN_PATH):
            raise OAuthError("invalid_grant", "Invalid JWT: iss and aud (the token_uri) are required")
        if not claims.get("iat", now + 1) <= now + 300 or not claims.get("exp", 0) > now or claims["exp"] - claims["iat"] > 3600:
            raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                                              "Check your iat and exp values in the JWT claim.")
        if claims.get("target_audience"):
            return {"id_token": self._tokens.issue_id(claims["iss"], claims["target_audience"])}
        if not claims.get("scope"):
            raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token, lifetime = self._tokens.issue_access(claims["iss"])
        return {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}


@register
class StsV1(EmulatedApi):
    """Security Token Service v1: the token exchange of external_account credentials."""

    document = "sts.v1"
    proto_package = "google.identity.sts.v1"
    checks_tokens = False  # the exchange is how a caller gets a token

    def __init__(self, shared):
        super().__init__(shared)
        self._tokens = shared.tokens
        self.handlers = {"sts.token": (self.token, "")}

    def token(self, request):
        body = request.body
        if body.get("grantType") != TOKEN_EXCHANGE:
            raise invalid_argument("Invalid value for \"grant_type\": must be %s." % TOKEN_EXCHANGE)
        for field in ("subjectToken", "subjectTokenType", "audience"):
            if not body.get(field):
                raise invalid_argument("Missing required field: %s." % snake_case(field))
        token, lifetime = self._tokens.issue_access("principal:" + body["audience"])
        return {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer", "expires_in": lifetime}


@register
class IamCredentialsV1(EmulatedApi):
    """IAM Service Account Credentials v1: access and ID tokens of a service account for a caller."""

    document = "iamcredentials.v1"
    proto_package = "google.iam.credentials.v1"

    def __init__(self, shared):
        super().__init__(shared)
        self._tokens = shared.tokens
        prefix = "iamcredentials.projects.serviceAccounts."
        self.handlers = {prefix + "generateAccessToken": (self.generate_access_token, ""),
                         prefix + "generateIdToken": (self.generate_id_token, "")}

    def generate_access_token(self, request):
        email = self._account(request)
        if not request.body.get("scope"):
            raise invalid_argument("Scope required.", field="scope")
        lifetime = int(float(request.body.get("lifetime", "3600s").rstrip("s")))
        if not 0 < lifetime <= 3600:
            raise invalid_argument("The lifetime must be between 1s and 3600s (longer ones need an organization policy).",
                                   field="lifetime")
        token, lifetime = self._tokens.issue_access(email, min(lifetime, self._tokens.settings()["token_seconds"]))
        expiry = datetime.datetime.fromtimestamp(time.time() + lifetime, datetime.timezone.utc)
        return {"accessToken": token, "expireTime": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def generate_id_token(self, request):
        email = self._account(request)
        if not request.body.get("audience"):
            raise invalid_argument("Audience required.", field="audience")
        return {"token": self._tokens.issue_id(email, request.body["audience"])}

    def _account(self, request):
        if not self._tokens.valid(request.headers, "access"):
            raise ApiError("UNAUTHENTICATED", UNAUTHENTICATED)
        if request.variables["projectsId"] != "-":
            raise invalid_argument("The - wildcard character is required for the project: projects/-/serviceAccounts/{ACCOUNT}.")
        return request.variables["serviceAccountsId"]


def form(body):
    """A form-encoded body (OAuth's and STS's) as a dict: the last value of each field."""
    fields = urllib.parse.parse_qs(body.decode("utf-8") if isinstance(body, bytes) else body, keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}
