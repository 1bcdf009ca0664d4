#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret
short_description: Create, update or delete a Secret Manager secret (its settings, never its value)
version_added: 0.2.0
description:
  - Manages a secret of Google Secret Manager - replication, labels, annotations, Pub/Sub topics, rotation schedule,
    version aliases, expiry and the delay before a destroyed version is gone. Its values are versions, managed with
    M(orchestra.gcp.secret_version).
  - Only the options given are managed; the others are left as they are. Every check runs before any change.
  - Updates are guarded by the secret's etag; when someone else changed the secret in between, the module reads it
    again and applies its change on top, instead of overwriting theirs.
  - Google cannot change the replication of an existing secret. Such a change fails with a clear message unless
    O(recreate=true), which deletes the secret with every version and creates it again.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-cloud-secret-manager >= 2.20
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  name:
    description: The secret ID; 1 to 255 letters, digits, C(_) or C(-).
    type: str
    required: true
  state:
    description: Whether the secret exists. V(absent) deletes it with all its versions.
    type: str
    choices: [present, absent]
    default: present
  replica_locations:
    description:
      - Regions the secret's payloads are stored in (user-managed replication). Left out, Google chooses (automatic
        replication). Cannot change once the secret exists (see O(recreate)).
    type: list
    elements: str
  kms_key_name:
    description: A Cloud KMS key that encrypts the payloads, with automatic replication. Cannot change once the secret exists.
    type: str
  labels:
    description: Labels; keys and values follow Google's label rules.
    type: dict
  purge_labels:
    description: Remove labels not in O(labels). With V(false), the given labels are added to the live ones.
    type: bool
    default: true
  annotations:
    description: Annotations, free-form metadata (at most 16 KiB).
    type: dict
  purge_annotations:
    description: Remove annotations not in O(annotations).
    type: bool
    default: true
  topics:
    description:
      - Pub/Sub topics (C(projects/PROJECT/topics/TOPIC)) Secret Manager notifies of changes, and of a due rotation.
    type: list
    elements: str
  rotation_period:
    description:
      - How often the secret is due for rotation, like V(30d) or V(720h); at least one hour. Needs O(topics) and
        O(next_rotation_time). Secret Manager only publishes a message when it is due; the C(secret_rotation) role rotates.
    type: str
  next_rotation_time:
    description: When the next rotation is due (RFC 3339, at least 5 minutes ahead, as Google requires), like V(2026-12-01T00:00:00Z).
    type: str
  version_aliases:
    description:
      - Aliases and the version number each names, like C(current=3) and C(previous=2); authoritative when given.
        The alias V(latest) is reserved. Each version named must exist and not be destroyed.
    type: dict
  expire_time:
    description: When the secret and all its versions are deleted (RFC 3339, in the future).
    type: str
  ttl:
    description: Delete the secret this long after it is created (like V(30d)); applied only when the module creates it.
    type: str
  version_destroy_ttl:
    description:
      - Keep a destroyed version this long (at least V(1d)) before it is gone, disabled meanwhile, so that a
        mistaken destroy can be undone.
    type: str
  recreate:
    description: Allow a change Google cannot make in place (replication) by deleting the secret and creating it again.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: A secret for the database password, with a rotation schedule
  orchestra.gcp.secret:
    name: db-password
    labels: {app: ai-orchestra, env: prod}
    topics: [projects/orchestra-prod/topics/secret-rotation]
    rotation_period: 30d
    next_rotation_time: "2026-12-15T03:00:00Z"
    version_destroy_ttl: 7d

- name: A secret kept in two regions
  orchestra.gcp.secret:
    name: openai-api-key
    replica_locations: [us-central1, europe-west1]
"""

RETURN = r"""
secret:
  description: The secret as it stands after the task (predicted in check mode), in the API's fields; never a value.
  returned: when O(state=present)
  type: dict
  sample:
    name: projects/123456789012/secrets/db-password
    short_name: db-password
    version_aliases: {current: 3}
changed_options:
  description: The options whose live value differed from the one asked for.
  returned: always
  type: list
  elements: str
recreated:
  description: Whether the secret was (or, in check mode, would be) deleted and created again.
  returned: always
  type: bool
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._secrets import SECRET_SPEC, manage_secret


def main():
    GcpModule(**SECRET_SPEC).run(manage_secret)


if __name__ == "__main__":
    main()
