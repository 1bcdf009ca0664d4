# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grandfather-father-son retention on worked examples: a year of backups every six hours, checked by hand; the
policy's problems; backups that failed or await verification; incomplete backups; ties and time zones."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils import _retention
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError

UTC = timezone.utc
POLICY = dict(hourly=4, daily=7, weekly=4, monthly=6)


def backup(stamp, verified=True, complete=True, backup_id=None):
    """A backup taken at ``stamp`` (``YYYY-MM-DDTHH[:MM]``, UTC), named after it unless ``backup_id`` says otherwise."""
    when = datetime.fromisoformat(stamp if ":" in stamp else stamp + ":00").replace(tzinfo=UTC)
    return dict(id=backup_id or stamp, time=when, verified=verified, complete=complete)


def six_hourly(newest="2025-03-15T18", days=400, **changes):
    """Backups every six hours for ``days`` days up to ``newest``; ``changes`` maps an id to fields that differ."""
    last = datetime.fromisoformat(newest + ":00")
    history = [backup((last - timedelta(hours=6 * k)).strftime("%Y-%m-%dT%H")) for k in range(days * 4)]
    for item in history:
        item.update(changes.get(item["id"], {}))
    return history


def ids(backups):
    return [item["id"] for item in backups]


# ---------------------------------------------------------------- a year of backups every six hours

# 2025-03-15 is a Saturday in ISO week 11 (Monday 03-10 to Sunday 03-16). With 4 hourly, 7 daily, 4 weekly and
# 6 monthly over backups at 00, 06, 12 and 18 UTC:
# - hourly: the 4 most recent hours holding a backup are the four of 03-15;
# - daily: the 18:00 backups of 03-15 back to 03-09;
# - weekly: the newest of weeks 11 (03-15), 10 (ending Sunday 03-09), 9 (ending Sunday 03-02), 8 (ending 02-23);
# - monthly: the last backup of March (03-15), February, January, December, November and October.
KEPT = {
    "2025-03-15T18": ["hourly", "daily", "weekly", "monthly", "newest", "newest verified"],
    "2025-03-15T12": ["hourly"],
    "2025-03-15T06": ["hourly"],
    "2025-03-15T00": ["hourly"],
    "2025-03-14T18": ["daily"],
    "2025-03-13T18": ["daily"],
    "2025-03-12T18": ["daily"],
    "2025-03-11T18": ["daily"],
    "2025-03-10T18": ["daily"],
    "2025-03-09T18": ["daily", "weekly"],
    "2025-03-02T18": ["weekly"],
    "2025-02-28T18": ["monthly"],
    "2025-02-23T18": ["weekly"],
    "2025-01-31T18": ["monthly"],
    "2024-12-31T18": ["monthly"],
    "2024-11-30T18": ["monthly"],
    "2024-10-31T18": ["monthly"],
}


def test_a_year_of_six_hourly_backups_keeps_exactly_the_hand_checked_ones():
    history = six_hourly()
    assert len(history) == 1600 and history[-1]["id"] == "2024-02-10T00"
    chosen = _retention.select(history, POLICY)
    assert ids(chosen["keep"]) == list(KEPT)
    assert chosen["reasons"] == KEPT
    assert len(chosen["prune"]) == 1600 - 17
    assert ids(chosen["prune"])[:3] == ["2025-03-14T12", "2025-03-14T06", "2025-03-14T00"]
    assert ids(chosen["prune"])[-1] == "2024-02-10T00"
    assert chosen["incomplete"] == []


def test_the_same_year_a_day_later_moves_each_tier_on():
    chosen = _retention.select(six_hourly(newest="2025-03-16T18", days=401), POLICY)
    # Sunday 03-16 closes week 11 and takes its place; 03-09 falls out of daily but stays weekly (week 10).
    assert ids(chosen["keep"]) == [
        "2025-03-16T18", "2025-03-16T12", "2025-03-16T06", "2025-03-16T00",
        "2025-03-15T18", "2025-03-14T18", "2025-03-13T18", "2025-03-12T18", "2025-03-11T18", "2025-03-10T18",
        "2025-03-09T18", "2025-03-02T18", "2025-02-28T18", "2025-02-23T18", "2025-01-31T18", "2024-12-31T18", "2024-11-30T18", "2024-10-31T18",
    ]
    assert chosen["reasons"]["2025-03-09T18"] == ["weekly"]
    assert chosen["reasons"]["2025-03-16T18"] == ["hourly", "daily", "weekly", "monthly", "newest", "newest verified"]


def test_periods_without_a_backup_do_not_count():
    history = [backup("2025-03-15T18"), backup("2025-03-10T09"), backup("2025-03-01T09"), backup("2025-01-20T09"), backup("2024-06-01T09")]
    chosen = _retention.select(history, dict(daily=3, monthly=2))
    # Three days that hold a backup reach back to 03-01; two months that hold one are March and January.
    assert chosen["reasons"] == {
        "2025-03-15T18": ["daily", "monthly", "newest", "newest verified"],
        "2025-03-10T09": ["daily"],
        "2025-03-01T09": ["daily"],
        "2025-01-20T09": ["monthly"],
    }
    assert ids(chosen["prune"]) == ["2024-06-01T09"]


def test_iso_weeks_cross_years_and_months():
    # Monday 2024-12-30 to Sunday 2025-01-05 is ISO week 1 of 2025; Sunday 2024-12-29 ends week 52 of 2024.
    history = [backup("2025-01-05T23"), backup("2025-01-01T00"), backup("2024-12-30T00"), backup("2024-12-29T23"), backup("2024-12-23T00")]
    chosen = _retention.select(history, dict(weekly=2))
    assert ids(chosen["keep"]) == ["2025-01-05T23", "2024-12-29T23"]
    assert ids(chosen["prune"]) == ["2025-01-01T00", "2024-12-30T00", "2024-12-23T00"]


def test_periods_are_counted_in_utc():
    tokyo = timezone(timedelta(hours=9))
    # 2025-03-16 07:00 in Tokyo is 2025-03-15 22:00 UTC: the same UTC day as the 10:00 UTC backup.
    late = dict(id="late", time=datetime(2025, 3, 16, 7, tzinfo=tokyo), verified=True, complete=True)
    chosen = _retention.select([late, backup("2025-03-15T10", backup_id="early"), backup("2025-03-14T10", backup_id="before")], dict(daily=2))
    assert ids(chosen["keep"]) == ["late", "before"]
    assert ids(chosen["prune"]) == ["early"]


def test_equal_times_are_ordered_by_id_whatever_the_input_order():
    history = [backup("2025-03-15T18", backup_id=name) for name in ("b", "a", "c")] + [backup("2025-03-14T18")]
    chosen = _retention.select(history, dict(daily=2))
    assert ids(chosen["keep"]) == ["c", "2025-03-14T18"]
    assert ids(chosen["prune"]) == ["b", "a"]
    for seed in range(5):
        shuffled = list(history)
        random.Random(seed).shuffle(shuffled)
        assert _retention.select(shuffled, dict(daily=2)) == chosen


def test_no_backups_keep_and_prune_nothing():
    assert _retention.select([], POLICY) == dict(keep=[], prune=[], incomplete=[], reasons={})


def test_the_dicts_given_come_back_with_their_other_fields():
    item = dict(backup("2025-03-15T18"), uri="gs://backups/redis/2025-03-15T18.rdb")
    assert _retention.select([item], POLICY)["keep"][0] is item


# ---------------------------------------------------------------- verification

def test_a_backup_that_failed_verification_gives_its_period_to_one_that_did_not():
    history = six_hourly(**{"2025-03-02T18": dict(verified=False), "2025-02-28T18": dict(verified=False), "2025-02-28T12": dict(verified=None)})
    chosen = _retention.select(history, POLICY)
    keep = ids(chosen["keep"])
    assert "2025-03-02T18" not in keep and "2025-02-28T18" not in keep
    assert chosen["reasons"]["2025-03-02T12"] == ["weekly"]
    # Not yet verified is not failed: the newest backup of February that did not fail is the one awaiting its check.
    assert chosen["reasons"]["2025-02-28T12"] == ["monthly"]
    assert {"2025-03-02T18", "2025-02-28T18"} <= set(ids(chosen["prune"]))
    assert len(keep) == 17


def test_a_period_whose_backups_all_failed_keeps_its_newest():
    history = [backup("2025-03-15T18"), backup("2025-03-14T18", verified=False), backup("2025-03-14T06", verified=False), backup("2025-03-13T18")]
    chosen = _retention.select(history, dict(daily=3))
    assert chosen["reasons"] == {"2025-03-15T18": ["daily", "newest", "newest verified"], "2025-03-14T18": ["daily"], "2025-03-13T18": ["daily"]}
    assert ids(chosen["prune"]) == ["2025-03-14T06"]


def test_the_newest_and_the_newest_verified_are_kept_outside_the_tiers():
    history = [backup("2025-03-15T18", verified=False), backup("2025-03-15T12", verified=None), backup("2025-03-10T12", verified=True),
               backup("2025-03-09T12", verified=True)]
    chosen = _retention.select(history, dict(hourly=1))
    # The newest failed its check and is kept all the same (it is the latest state); its hour holds nothing else, so
    # the hourly tier keeps it too; the newest verified is five days older.
    assert chosen["reasons"] == {"2025-03-15T18": ["hourly", "newest"], "2025-03-10T12": ["newest verified"]}
    assert ids(chosen["prune"]) == ["2025-03-15T12", "2025-03-09T12"]


def test_without_any_verified_backup_only_the_newest_is_kept_beyond_the_tiers():
    history = [backup("2025-03-15T18", verified=None), backup("2025-03-14T18", verified=False), backup("2025-03-01T18", verified=None)]
    chosen = _retention.select(history, dict(daily=1))
    assert chosen["reasons"] == {"2025-03-15T18": ["daily", "newest"]}
    assert ids(chosen["prune"]) == ["2025-03-14T18", "2025-03-01T18"]


# ---------------------------------------------------------------- incomplete backups

def test_incomplete_backups_are_neither_kept_nor_pruned_and_hold_no_period():
    history = six_hourly(newest="2025-03-15T18", days=3, **{
        "2025-03-15T18": dict(complete=False, verified=None),  # an export still running
        "2025-03-14T18": dict(complete=False, verified=None),  # one that died half way
        "2025-03-14T12": dict(complete=False, verified=None),
        "2025-03-14T06": dict(complete=False, verified=None),
        "2025-03-14T00": dict(complete=False, verified=None),
    })
    chosen = _retention.select(history, dict(daily=2))
    assert ids(chosen["incomplete"]) == ["2025-03-15T18", "2025-03-14T18", "2025-03-14T12", "2025-03-14T06", "2025-03-14T00"]
    # 03-14 holds no complete backup, so the two days are 03-15 and 03-13; the newest complete one is 03-15 12:00.
    assert chosen["reasons"] == {"2025-03-15T12": ["daily", "newest", "newest verified"], "2025-03-13T18": ["daily"]}
    assert ids(chosen["prune"]) == ["2025-03-15T06", "2025-03-15T00", "2025-03-13T12", "2025-03-13T06", "2025-03-13T00"]


def test_only_incomplete_backups_leave_nothing_to_keep_or_prune():
    history = [backup("2025-03-15T18", complete=False, verified=None), backup("2025-03-14T18", complete=False, verified=True)]
    chosen = _retention.select(history, POLICY)
    assert chosen["keep"] == [] and chosen["prune"] == [] and chosen["reasons"] == {}
    assert ids(chosen["incomplete"]) == ["2025-03-15T18", "2025-03-14T18"]


# ---------------------------------------------------------------- the policy

def test_the_spec_declares_every_tier_as_a_count_defaulting_to_0():
    assert _retention.POLICY_SPEC == {tier: dict(type="int", default=0) for tier in ("hourly", "daily", "weekly", "monthly")}


def test_a_sound_policy_has_no_problems():
    assert _retention.policy_problems(POLICY) == []
    assert _retention.policy_problems(dict(daily=7)) == []
    assert _retention.policy_problems(dict(hourly=None, daily=1, weekly=None, monthly=None)) == []
    assert _retention.policy_problems(dict(_retention.MAX_COUNTS)) == []


def test_a_policy_that_keeps_nothing_is_refused():
    for policy in (dict(hourly=0, daily=0, weekly=0, monthly=0), {}, None):
        problems = _retention.policy_problems(policy)
        assert len(problems) == 1 and problems[0].startswith("retention keeps nothing: ")
        assert "daily: 7" in problems[0]


def test_negative_and_oversized_counts_are_each_named():
    problems = _retention.policy_problems(dict(hourly=-1, daily=367, weekly=4, monthly=-6))
    assert problems[0] == "retention hourly -1 must be 0 or more"
    assert problems[1].startswith("retention daily 367 is over 366 (a year of days): past that the next coarser tier keeps the span")
    assert problems[2] == "retention monthly -6 must be 0 or more"
    assert len(problems) == 3


@pytest.mark.parametrize("tier, bound", [("hourly", 744), ("daily", 366), ("weekly", 260), ("monthly", 240)])
def test_each_tier_takes_up_to_its_bound(tier, bound):
    assert _retention.policy_problems({tier: bound}) == []
    assert " is over %d " % bound in _retention.policy_problems({tier: bound + 1})[0]


def test_counts_that_are_not_whole_numbers_and_unknown_tiers_are_refused():
    problems = _retention.policy_problems(dict(daily="7", weekly=True, monthly=1.5, yearly=2))
    assert problems == [
        "retention has no tier 'yearly': the tiers are hourly, daily, weekly, monthly",
        "retention daily '7' must be a whole number of daily periods",
        "retention weekly True must be a whole number of weekly periods",
        "retention monthly 1.5 must be a whole number of monthly periods",
    ]


def test_select_refuses_a_policy_with_problems_before_choosing_anything():
    with pytest.raises(GcpError) as refused:
        _retention.select(six_hourly(days=2), dict(daily=-1))
    assert str(refused.value) == "Invalid parameters for the retention policy: retention daily -1 must be 0 or more. Nothing was changed."
    with pytest.raises(GcpError, match="retention keeps nothing"):
        _retention.select(six_hourly(days=2), {})


def test_select_refuses_backups_it_cannot_order():
    naive = dict(id="naive", time=datetime(2025, 3, 15, 18), verified=True, complete=True)
    with pytest.raises(ValueError, match="'naive' has a time without a timezone: 2025-03-15T18:00:00"):
        _retention.select([naive], POLICY)
    with pytest.raises(ValueError, match="backup id '2025-03-15T18' is given twice"):
        _retention.select([backup("2025-03-15T18"), backup("2025-03-15T18")], POLICY)


@pytest.mark.parametrize("policy, line", [
    (POLICY, "4 hourly, 7 daily, 4 weekly, 6 monthly"),
    (dict(daily=7, weekly=4), "7 daily, 4 weekly"),
    (dict(hourly=0, daily=0, weekly=0, monthly=12), "12 monthly"),
    (dict(hourly=0, daily=0, weekly=0, monthly=0), "no tier"),
])
def test_describe_says_the_policy_on_one_line(policy, line):
    assert _retention.describe(policy) == line
