"""The emulator's own plumbing, not Google behaviour (what each API answers is in its module, from
Google's discovery documents and the cited responses under tests/fixtures/google/).

The one mechanism every emulated API uses: a module defines a subclass of `EmulatedApi` and
decorates it with `@register`; `app.Emulator` builds every registered API and routes to them in the
order they registered.

An API brings its discovery document (routes and JSON codec), its handlers by discovery method id,
its state (under `state["resources"][document]`, its operations and IAM policies), its admin
settings (`settings`: lists of rules kept in `state["admin"]`; `config`: numbers under
`/_emulator/config`) and its admin endpoints (`admin`), and answers `restore()` after a saved state
is loaded and `close()` before a reset or a stop.
"""

import dataclasses
import typing

from orchestra_emulator.discovery import Api
from orchestra_emulator.iam import Policies
from orchestra_emulator.operations import Operations

REGISTERED = []


def register(api_class):
    """Class decorator: the emulator serves this API."""
    REGISTERED.append(api_class)
    return api_class


@dataclasses.dataclass
class Media:
    """What a handler answers when the answer is not a JSON document (Cloud Storage's downloads and upload sessions):
    its status, headers and body, either `content` or `length` bytes read from the open binary file `stream` from its
    current position (closed once sent, so a large object is never read whole into memory)."""

    status: int = 200
    headers: dict = dataclasses.field(default_factory=dict)
    content: bytes = b""
    stream: typing.BinaryIO = None
    length: int = 0

    def size(self):
        return len(self.content) if self.stream is None else self.length

    def write(self, out, block=1 << 20):
        """Send the body to the binary file `out`."""
        if self.stream is None:
            out.write(self.content)
            return
        with self.stream:
            remaining = self.length
            while remaining > 0:
                data = self.stream.read(min(block, remaining))
                if not data:
                    break
                out.write(data)
                remaining -= len(data)


@dataclasses.dataclass
class Shared:
    """What every API may use besides its own state."""

    store: object  # state.Store
    metrics: object  # metrics.Sink
    tokens: object  # auth.Tokens
    logs: object  # logs.Logs


class EmulatedApi:
    document = None  # discovery document name, e.g. "run.v2"
    proto_package = None  # e.g. "google.cloud.run.v2", for type names in error messages
    settings = {}  # admin state key -> default (e.g. a list of rules); a reset restores them
    config = {}  # admin config key -> default number (`/_emulator/config`)
    positive_config = frozenset()  # config keys that must be more than 0 (others at least 0)
    checks_tokens = True  # False for the token exchange, which is how a caller gets a token

    def __init__(self, shared):
        self.shared = shared
        self.api = Api(self.document, self.proto_package)
        self.operations = Operations(shared.store, self.document)
        self.policies = Policies(shared.store, self.document)
        self.handlers = {}  # discovery method id -> (handler(request), proto field holding the body or None)
        self.admin = {}  # (HTTP method, path below /_emulator/) -> endpoint(body) -> JSON payload

    def restore(self):
        """Called once the saved state is loaded."""

    def close(self):
        """Called before a reset and when the emulator stops."""


def admin_defaults():
    """(admin settings, admin config, config keys that must be positive) of every registered API."""
    settings, config, positive = {}, {}, set()
    for api_class in REGISTERED:
        settings.update(api_class.settings)
        config.update(api_class.config)
        positive |= api_class.positive_config
    return settings, config, positive
