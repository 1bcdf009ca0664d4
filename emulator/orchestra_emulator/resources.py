"""Helpers for the resources of any API: etags, update masks and labels."""

import copy
import re
import uuid

from orchestra_emulator.discovery import camel_case
from orchestra_emulator.errors import invalid_argument

# https://cloud.google.com/resource-manager/docs/creating-managing-labels#requirements (the emulator
# accepts ASCII only, where Google also takes international characters).
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64


def new_etag():
    """A fresh etag, quoted as Google's resource etags are (`"\\"...\\""` in JSON)."""
    return f'"{uuid.uuid4().hex}"'


def check_etag(sent, current, mismatch):
    """Raise `mismatch(message)` when an etag was sent and is not `current`. Google's APIs differ in
    the error: Cloud Run answers errors.aborted (409 ABORTED), Secret Manager errors.failed_precondition
    (400 FAILED_PRECONDITION)."""
    if sent and sent != current:
        raise mismatch(f"The etag '{sent}' does not match the current etag '{current}'.")


def apply_mask(current, patch, update_mask):
    """`current` with the fields named by `update_mask` (comma-separated field paths, camelCase or
    snake_case) taken from `patch`, a field absent from `patch` being cleared; no mask or "*" replaces
    every field (AIP-134)."""
    if update_mask in (None, "", "*"):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(current)
    for path in update_mask.split(","):
        source, target = patch, merged
        *parents, last = [camel_case(part) for part in path.strip().split(".")]
        for key in parents:
            source = source.get(key, {})
            target = target.setdefault(key, {})
        if last in source:
            target[last] = copy.deepcopy(source[last])
        else:
            target.pop(last, None)
    return merged


def check_labels(field, labels):
    """400 INVALID_ARGUMENT unless `labels` follow Google's rules: at most 64; keys of 1 to 63 lowercase
    letters, digits, '_' or '-' starting with a letter; values of at most 63 of those. The messages are
    the emulator's."""
    if len(labels) > MAX_LABELS:
        raise invalid_argument(f"At most {MAX_LABELS} labels are allowed.", field=field)
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise invalid_argument(
                f"Invalid label key '{key}': it must start with a lowercase letter and have at most 63 "
                "lowercase letters, digits, '_' or '-'.",
                field=f"{field}[{key}]",
            )
        if not _LABEL_VALUE.match(value):
            raise invalid_argument(
                f"Invalid label value '{value}': at most 63 lowercase letters, digits, '_' or '-'.",
                field=f"{field}[{key}]",
            )
