# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grandfather-father-son retention over random backup histories and policies: what must hold whatever the history.

Histories are drawn at four scales (minutes apart, hours, days, months) so that every tier meets periods holding one
backup and periods holding many, with equal times, failed, unverified and incomplete backups. The runs are
derandomized: the same examples every time, in CI as on a laptop.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.orchestra.gcp.plugins.module_utils import _retention

TIERS = ("hourly", "daily", "weekly", "monthly")
# A Sunday two days before a year's end: Monday 2024-12-30 starts ISO week 1 of 2025, so histories cross weeks,
# months, years, and a week whose ISO year is not its calendar year.
START = datetime(2024, 12, 29, 12, tzinfo=timezone.utc)
SCALES = (1, 17, 60 * 7, 60 * 24 * 9)  # minutes between draws: many backups an hour, a few a day, about weekly, about monthly

# Autouse fixtures (no network) are function-scoped and do not depend on the example: sharing them is safe.
PROPERTY = settings(max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


VERIFIED = (True, True, False, None)  # half verified, a quarter failed, a quarter awaiting their check
COMPLETE = (True, True, True, False)


@st.composite
def histories(draw):
    """A list of backups in a random order, with unique ids that do not follow their times."""
    scale = draw(st.sampled_from(SCALES))
    drawn = draw(st.lists(st.tuples(st.integers(0, 60), st.sampled_from(VERIFIED), st.sampled_from(COMPLETE)), max_size=30))
    names = list(range(len(drawn)))
    random.Random(draw(st.integers(0, 2 ** 16))).shuffle(names)
    backups = [dict(id="b%02d" % name, time=START + timedelta(minutes=scale * step), verified=verified, complete=complete)
               for name, (step, verified, complete) in zip(names, drawn)]
    random.Random(len(backups)).shuffle(backups)
    return backups


policies = st.fixed_dictionaries({tier: st.integers(0, 5) for tier in TIERS}).filter(lambda policy: any(policy.values()))


def ids(backups):
    return [item["id"] for item in backups]


def newest_first(backups):
    return sorted(backups, key=lambda item: (item["time"], item["id"]), reverse=True)


def period(tier, when):
    """The period of a backup, computed apart from the module: the start of its hour, day, ISO week or month."""
    when = when.astimezone(timezone.utc)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return dict(hourly=when.replace(minute=0, second=0, microsecond=0), daily=day, weekly=day - timedelta(days=day.weekday()),
                monthly=day.replace(day=1))[tier]


def tier_choices(backups, tier, count):
    """What a tier must keep: the newest backup that did not fail in each of its ``count`` latest periods holding a complete
    backup, or the newest of the period when all of them failed."""
    periods = {}
    for item in backups:
        if item["complete"]:
            periods.setdefault(period(tier, item["time"]), []).append(item)
    chosen = []
    for start in sorted(periods, reverse=True)[:count]:
        held = newest_first(periods[start])
        sound = [item for item in held if item["verified"] is not False]
        chosen.append((sound or held)[0]["id"])
    return chosen


@PROPERTY
@given(histories(), policies)
def test_kept_and_pruned_split_the_complete_backups_newest_first(backups, policy):
    chosen = _retention.select(backups, policy)
    complete = newest_first([item for item in backups if item["complete"]])
    assert sorted(ids(chosen["keep"]) + ids(chosen["prune"])) == sorted(ids(complete))
    assert not set(ids(chosen["keep"])) & set(ids(chosen["prune"]))
    assert chosen["keep"] == [item for item in complete if item["id"] in chosen["reasons"]]
    assert chosen["prune"] == [item for item in complete if item["id"] not in chosen["reasons"]]
    assert chosen["incomplete"] == newest_first([item for item in backups if not item["complete"]])
    assert set(chosen["reasons"]) == set(ids(chosen["keep"])) and all(chosen["reasons"].values())


@PROPERTY
@given(histories(), policies)
def test_the_newest_and_the_newest_verified_are_always_kept(backups, policy):
    chosen = _retention.select(backups, policy)
    complete = newest_first([item for item in backups if item["complete"]])
    if complete:
        assert "newest" in chosen["reasons"][complete[0]["id"]]
    verified = [item for item in complete if item["verified"] is True]
    if verified:
        assert "newest verified" in chosen["reasons"][verified[0]["id"]]
    assert sum("newest" in reasons for reasons in chosen["reasons"].values()) == (1 if complete else 0)
    assert sum("newest verified" in reasons for reasons in chosen["reasons"].values()) == (1 if verified else 0)


@PROPERTY
@given(histories(), policies)
def test_no_more_are_kept_than_the_tiers_count_and_two(backups, policy):
    assert len(_retention.select(backups, policy)["keep"]) <= sum(policy.values()) + 2


@PROPERTY
@given(histories(), policies)
def test_selecting_again_over_the_kept_ones_keeps_them_all(backups, policy):
    chosen = _retention.select(backups, policy)
    again = _retention.select(chosen["keep"], policy)
    assert again["keep"] == chosen["keep"] and again["prune"] == []
    assert again["reasons"] == chosen["reasons"]


@PROPERTY
@given(histories(), policies, policies)
def test_a_larger_policy_keeps_a_superset(backups, policy, more):
    larger = {tier: max(policy[tier], more[tier]) for tier in TIERS}
    assert set(ids(_retention.select(backups, policy)["keep"])) <= set(ids(_retention.select(backups, larger)["keep"]))


@PROPERTY
@given(histories(), policies)
def test_each_tier_keeps_the_chosen_backup_of_each_of_its_latest_periods(backups, policy):
    chosen = _retention.select(backups, policy)
    by_id = {item["id"]: item for item in backups}
    for tier in TIERS:
        expected = tier_choices(backups, tier, policy[tier])
        assert [backup_id for backup_id in ids(chosen["keep"]) if tier in chosen["reasons"][backup_id]] == expected
        for backup_id in expected:
            # A tier takes a backup that failed verification only when its whole period failed.
            if by_id[backup_id]["verified"] is False:
                assert all(item["verified"] is False for item in backups
                           if item["complete"] and period(tier, item["time"]) == period(tier, by_id[backup_id]["time"]))


@PROPERTY
@given(histories(), policies, st.integers(0, 2 ** 32 - 1))
def test_the_input_order_does_not_matter(backups, policy, seed):
    shuffled = list(backups)
    random.Random(seed).shuffle(shuffled)
    assert _retention.select(shuffled, policy) == _retention.select(backups, policy)
