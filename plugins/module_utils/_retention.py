# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grandfather-father-son (GFS) retention of backups: which to keep and which to prune, by hour, day, week and month.

PRIVATE to this collection. Pure logic, no API call: a module lists its backups (Redis exports in Cloud Storage,
Memorystore Cluster managed backups), hands them to ``select`` as plain dicts, and deletes what it returns under
``prune``. A backup is a dict with at least:

- ``id`` (str): unique among the backups given;
- ``time`` (a timezone-aware datetime): when it was taken; periods are counted in UTC;
- ``verified``: ``True`` when a restore check passed, ``False`` when it failed, ``None`` when none ran yet;
- ``complete`` (bool): whether the backup finished. An incomplete one (an export still running, or one that died
  half way) takes no part in retention: it is neither kept by a tier nor pruned here, and the caller decides what
  to do with it (``select`` returns it under ``incomplete``).

A policy is a dict of counts, ``hourly``, ``daily``, ``weekly`` and ``monthly``. Each tier keeps the newest backup
of each of its N most recent periods that hold a backup: the hour, the UTC day, the ISO week (Monday to Sunday),
the calendar month. Periods without a backup do not count, so ``daily: 7`` keeps a week of daily backups when
they are taken daily, and the last 7 days that had one when some days were missed. A tier never chooses a backup
that failed verification when its period holds one that did not; a period whose backups all failed keeps its
newest, so a check that fails for its own reasons never leaves a period with nothing. On top of the tiers, the
newest complete backup and the newest verified one are always kept: the first is the latest state, the second the
latest state known to restore.
"""

from __future__ import annotations

from datetime import timezone

from ._gcp import invalid

TIERS = ("hourly", "daily", "weekly", "monthly")

# The argument spec of a retention policy option, to use as its ``suboptions`` (type dict). Every count is how many
# of that tier's most recent periods holding a backup keep their newest backup; 0 leaves the tier out.
POLICY_SPEC = dict(
    hourly=dict(type="int", default=0),   # hours (UTC) that hold a backup, newest first
    daily=dict(type="int", default=0),    # UTC days that hold a backup
    weekly=dict(type="int", default=0),   # ISO weeks (Monday to Sunday, UTC) that hold a backup
    monthly=dict(type="int", default=0),  # calendar months (UTC) that hold a backup
)

# The largest count each tier takes. Past it the next coarser tier keeps the same span with far fewer copies
# (a month of hours is 31 daily backups; a year of days is 12 monthly ones; five years of weeks is 60 monthly ones),
# and every backup kept is a full copy of the data, billed as stored: a count past these is far more likely a typo
# (70 for 7) than a plan. Twenty years of months covers the legal retention periods of accounting and tax records,
# which run to ten years in most places.
MAX_COUNTS = dict(hourly=24 * 31, daily=366, weekly=52 * 5, monthly=12 * 20)
SPANS = dict(hourly="a month of hours", daily="a year of days", weekly="five years of weeks", monthly="twenty years of months")


def _period(tier, when):
    """The period of ``tier`` that the UTC datetime ``when`` falls in, as a tuple that sorts in time order."""
    if tier == "hourly":
        return (when.year, when.month, when.day, when.hour)
    if tier == "daily":
        return (when.year, when.month, when.day)
    if tier == "weekly":
        iso = when.isocalendar()
        return (iso[0], iso[1])
    return (when.year, when.month)


def _counts(policy):
    return {tier: (policy or {}).get(tier) or 0 for tier in TIERS}


def policy_problems(policy):
    """What is wrong with a retention ``policy``, one sentence each; an empty list when nothing is.

    A missing or ``None`` count is 0, and so is every count of a ``None`` policy. A count must be a whole number from
    0 through its tier's bound (``MAX_COUNTS``), and at least one tier must keep something: a policy of zeros would
    keep only the newest backups and prune every other, which is never what a retention option is written for.
    """
    policy = policy or {}
    problems = ["retention has no tier %r: the tiers are %s" % (key, ", ".join(TIERS)) for key in sorted(policy) if key not in TIERS]
    for tier in TIERS:
        count = policy.get(tier)
        if count is None:
            continue
        if isinstance(count, bool) or not isinstance(count, int):
            problems.append("retention %s %r must be a whole number of %s periods" % (tier, count, tier))
        elif count < 0:
            problems.append("retention %s %d must be 0 or more" % (tier, count))
        elif count > MAX_COUNTS[tier]:
            problems.append("retention %s %d is over %d (%s): past that the next coarser tier keeps the span with fewer copies, "
                            "and every backup kept is a full copy billed as stored" % (tier, count, MAX_COUNTS[tier], SPANS[tier]))
    if not problems and not any(_counts(policy).values()):
        problems.append("retention keeps nothing: hourly, daily, weekly and monthly are all 0, so every backup but the newest "
                        "and the newest verified would be pruned; set at least one, e.g. daily: 7")
    return problems


def describe(policy):
    """The policy on one line, e.g. ``4 hourly, 7 daily, 4 weekly, 6 monthly``; tiers at 0 are left out."""
    counts = _counts(policy)
    return ", ".join("%s %s" % (counts[tier], tier) for tier in TIERS if counts[tier]) or "no tier"


def _time_order(backup):
    """Backups in the order they were taken; of two taken at the same time, the greater id counts as the later."""
    return (backup["time"], backup["id"])


def select(backups, policy):
    """Which ``backups`` the retention ``policy`` keeps and which it prunes.

    Returns ``dict(keep=[...], prune=[...], incomplete=[...], reasons={id: [...]})``. ``keep`` and ``prune`` are the
    complete backups (the dicts given), split in two, each newest first; ``incomplete`` are the others, newest
    first, for the caller to decide on. ``reasons`` says, for every backup kept, why: the tiers that chose it, in
    the order of ``TIERS``, then ``"newest"`` and ``"newest verified"``. Backups taken at the same time are ordered
    by id, the greater id counting as the newer, so the result never depends on the order of ``backups``.

    Raises the ``invalid`` error of the policy's problems (``policy_problems``) and ``ValueError`` for a backup
    without a timezone or with an id met twice: both are the caller's to fix, and nothing is chosen then.
    """
    problems = policy_problems(policy)
    if problems:
        raise invalid("the retention policy", problems)
    seen = set()
    for backup in backups:
        if backup["id"] in seen:
            raise ValueError("backup id %r is given twice" % backup["id"])
        seen.add(backup["id"])
        if backup["time"].tzinfo is None or backup["time"].utcoffset() is None:
            raise ValueError("backup %r has a time without a timezone: %s" % (backup["id"], backup["time"].isoformat()))
    ordered = sorted(backups, key=_time_order, reverse=True)
    complete = [backup for backup in ordered if backup["complete"]]
    reasons = {}

    def keep(backup, reason):
        reasons.setdefault(backup["id"], []).append(reason)

    counts = _counts(policy)
    for tier in TIERS:
        if not counts[tier]:
            continue
        periods = {}  # period -> its backups, newest first; dicts keep the order periods are met in, newest first
        for backup in complete:
            periods.setdefault(_period(tier, backup["time"].astimezone(timezone.utc)), []).append(backup)
        for period in list(periods)[:counts[tier]]:
            held = periods[period]
            keep(next((backup for backup in held if backup["verified"] is not False), held[0]), tier)
    if complete:
        keep(complete[0], "newest")
    verified = next((backup for backup in complete if backup["verified"] is True), None)
    if verified is not None:
        keep(verified, "newest verified")
    return dict(
        keep=[backup for backup in complete if backup["id"] in reasons],
        prune=[backup for backup in complete if backup["id"] not in reasons],
        incomplete=[backup for backup in ordered if not backup["complete"]],
        reasons=reasons,
    )
