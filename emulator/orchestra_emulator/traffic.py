"""Traffic targets of a Cloud Run service.

Cloud Run follows Knative's route rules (knative/serving pkg/apis/serving/v1/route_validation.go,
validateTrafficList; https://cloud.google.com/run/docs/rollouts-rollbacks-traffic-migration):
each percent is 0..100 and they sum to 100, a tag is a DNS-1035 label defined once, a REVISION
target names its revision and a LATEST target does not.
"""

import re

from orchestra_emulator.errors import invalid_argument

LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"

# k8s.io/apimachinery/pkg/util/validation IsDNS1035Label, which Knative applies to tags.
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def check(targets):
    """Raise 400 INVALID_ARGUMENT for the first rule a non-empty traffic list breaks."""
    if not targets:
        return
    first_use = {}
    for index, target in enumerate(targets):
        _check_target(target, f"service.traffic[{index}]")
        tag = target.get("tag")
        if tag and tag in first_use:
            raise invalid_argument(f'Multiple definitions for "{tag}"', field=f"service.traffic[{index}].tag")
        first_use.setdefault(tag, index)
    total = sum(target.get("percent", 0) for target in targets)
    if total != 100:
        raise invalid_argument(f"Traffic targets sum to {total}, want 100", field="service.traffic")


def _check_target(target, field):
    percent = target.get("percent", 0)
    if not 0 <= percent <= 100:
        raise invalid_argument(f"expected 0 <= {percent} <= 100: percent", field=f"{field}.percent")
    tag = target.get("tag")
    if tag and (len(tag) > 63 or not _DNS1035_LABEL.match(tag)):
        raise invalid_argument(f"Invalid tag '{tag}': {_DNS1035_MESSAGE}", field=f"{field}.tag")
    kind = target.get("type")
    if kind == REVISION and not target.get("revision"):
        raise invalid_argument(f"A {REVISION} target must name a revision.", field=f"{field}.revision")
    if kind == LATEST and target.get("revision"):
        raise invalid_argument(f"A {LATEST} target must not name a revision.", field=f"{field}.revision")
    if kind not in (LATEST, REVISION):
        raise invalid_argument(f"Traffic target type must be {LATEST} or {REVISION}.", field=f"{field}.type")


def statuses(targets):
    """trafficStatuses for `targets` once they serve. A LATEST status carries no revision, as on Google
    (firebase-tools src/gcp/runv2.ts quotes a Ready service reading
    `"trafficStatuses": [{"percent": 100, "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"}]`; gcloud
    resolves LATEST from `latestReadyRevision`, command_lib/run/v2/instance_split.py). Tag URIs are added
    by the caller once their listeners are open."""
    return [{key: target[key] for key in ("type", "revision", "percent", "tag") if key in target} for target in targets]
