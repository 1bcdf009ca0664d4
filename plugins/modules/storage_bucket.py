#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_bucket
short_description: Create, update or delete a Cloud Storage bucket, with its retention, versioning and lifecycle
version_added: 0.3.0
description:
  - Manages a Cloud Storage bucket through the JSON API v1, for example the bucket that holds Memorystore exports of
    the Redis data.
  - Only the options given are compared; the others are Google's to choose or stay as they are. Values compare as
    Google returns them (a retention period of V(7d) equals Google's V("604800")); the fields Google fills in
    (creation time, metageneration, etag, project number) are never a change.
  - A change is one PATCH of the fields that differ, guarded by the bucket's metageneration; when someone else changed
    the bucket in between, the module reads it again and applies its change on top.
  - Every input is checked before any call. A bucket cannot move (O(location) is set at creation), and a locked
    retention policy can neither be shortened nor removed; the module refuses both before any change, saying what to do.
  - Google deletes only an empty bucket; O(state=absent) on one that holds objects fails, saying so.
author: AI Orchestra platform team (@ai-orchestra)
requirements:
  - google-api-python-client
extends_documentation_fragment:
  - orchestra.gcp.gcp
  - orchestra.gcp.gcp.attributes
options:
  name:
    description:
      - The bucket name, global across Google Cloud; 3 to 63 lowercase letters, digits, C(-), C(_) or C(.) (up to 222
        with dots), starting and ending with a letter or digit, not starting with C(goog) nor holding C(google).
    type: str
    required: true
  state:
    description: Whether the bucket exists.
    type: str
    choices: [present, absent]
    default: present
  location:
    description:
      - A region (V(europe-west1)), a predefined dual-region (V(EUR4), V(NAM4), ...) or a multi-region (V(US), V(EU),
        V(ASIA)); it implies the bucket's location type. Required with O(state=present); it cannot change.
    type: str
  storage_class:
    description: The default storage class of the objects. Google's default is V(STANDARD).
    type: str
    choices: [STANDARD, NEARLINE, COLDLINE, ARCHIVE]
  versioning:
    description: Whether the bucket keeps noncurrent versions of overwritten and deleted objects.
    type: bool
  retention_period:
    description:
      - The retention policy, the least time every object is kept, in seconds or as a number with a unit C(s), C(m), C(h) or
        C(d) (V(7d)); at most 100 years. V(0) removes an unlocked policy.
    type: str
  lock_retention_policy:
    description:
      - Lock the retention policy. This cannot be undone; a locked policy can be lengthened but never shortened or
        removed, and the bucket cannot be deleted before its objects are old enough. Never done unless asked.
    type: bool
    default: false
  lifecycle_rules:
    description:
      - The bucket's lifecycle rules, as the JSON API's C(Bucket.lifecycle.rule) with snake_case names; authoritative
        (V([]) removes every rule). At most 100.
    type: list
    elements: dict
    suboptions:
      action:
        description: What the rule does.
        type: dict
        required: true
        suboptions:
          type:
            description: The action.
            type: str
            required: true
            choices: [Delete, SetStorageClass, AbortIncompleteMultipartUpload]
          storage_class:
            description: The storage class a V(SetStorageClass) action moves objects to.
            type: str
            choices: [STANDARD, NEARLINE, COLDLINE, ARCHIVE]
      condition:
        description: When the rule applies; at least one condition, all of them met.
        type: dict
        required: true
        suboptions:
          age:
            description: Days since the object was created.
            type: int
          created_before:
            description: A date (V(2025-01-31)) the object was created before.
            type: str
          custom_time_before:
            description: A date the object's custom time is before.
            type: str
          days_since_custom_time:
            description: Days since the object's custom time.
            type: int
          days_since_noncurrent_time:
            description: Days since the version became noncurrent.
            type: int
          is_live:
            description: V(true) matches live objects, V(false) noncurrent versions.
            type: bool
          matches_prefix:
            description: Object name prefixes, any of which matches.
            type: list
            elements: str
          matches_suffix:
            description: Object name suffixes, any of which matches.
            type: list
            elements: str
          matches_storage_class:
            description: Storage classes, any of which matches.
            type: list
            elements: str
          noncurrent_time_before:
            description: A date the version became noncurrent before.
            type: str
          num_newer_versions:
            description: The number of newer versions of the object, at least.
            type: int
  uniform_bucket_level_access:
    description: Whether access is granted by IAM only (no object ACLs).
    type: bool
  public_access_prevention:
    description: V(enforced) refuses any public grant on the bucket and its objects; V(inherited) follows the organization policy.
    type: str
    choices: [enforced, inherited]
  labels:
    description: Labels to set on the bucket; labels not named are left as they are.
    type: dict
  soft_delete_retention:
    description: How long deleted objects can be restored, V(0) (off) or from 7 to 90 days, in seconds or like V(7d).
    type: str
"""

EXAMPLES = r"""
- name: The bucket of the Redis backups
  orchestra.gcp.storage_bucket:
    name: my-project-redis-backups
    location: europe-west1
    versioning: true
    uniform_bucket_level_access: true
    public_access_prevention: enforced
    retention_period: 7d
    lifecycle_rules:
      - action: {type: Delete}
        condition: {is_live: false, days_since_noncurrent_time: 30}
"""

RETURN = r"""
bucket:
  description: The bucket as Google returns it (JSON API v1); null once deleted or in check mode before it exists.
  returned: always
  type: dict
  sample:
    name: my-project-redis-backups
    location: EUROPE-WEST1
    locationType: region
    storageClass: STANDARD
    metageneration: "2"
    versioning: {enabled: true}
    retentionPolicy: {retentionPeriod: "604800", effectiveTime: "2026-01-01T00:00:00.000000Z", isLocked: false}
changed_options:
  description: The options that differed from the live bucket (all those given when it is created).
  returned: when state is present
  type: list
  elements: str
"""

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpModule
from ansible_collections.orchestra.gcp.plugins.module_utils._storage import BUCKET_SPEC, manage_bucket


def main():
    GcpModule(**BUCKET_SPEC).run(manage_bucket)


if __name__ == "__main__":
    main()
