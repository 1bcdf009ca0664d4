# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window a canary measurement judges (the data that has arrived) and when measurements are taken."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._canary import ANALYSIS_SPEC, METRICS_DELAY, judged_window, next_wait

AT = datetime.datetime(2026, 1, 5, 10, 0, 0, tzinfo=datetime.timezone.utc)


def test_the_default_delay_is_google_s_worst_case_for_cloud_run_metrics():
    # 60-second samples, "not visible for up to 180 seconds" after sampling.
    assert METRICS_DELAY == 60 + 180
    assert ANALYSIS_SPEC["argument_spec"]["metrics_delay"] == dict(type="int", default=METRICS_DELAY)


@pytest.mark.parametrize("window, delay, start, end", [
    (300, 240, "09:51:00", "09:56:00"),
    (60, 3, "09:58:57", "09:59:57"),
    (60, 0, "09:59:00", "10:00:00"),
])
def test_the_window_ends_metrics_delay_before_the_measurement(window, delay, start, end):
    assert [moment.strftime("%H:%M:%S") for moment in judged_window(AT, dict(window=window, metrics_delay=delay))] == [start, end]


def test_a_measurement_metrics_delay_after_the_bake_covers_the_bake_s_end():
    bake_end = AT
    _start, end = judged_window(bake_end + datetime.timedelta(seconds=240), dict(window=300, metrics_delay=240))
    assert end == bake_end


@pytest.mark.parametrize("now, due, interval, wait", [
    (0, 600, 60, 60),     # every interval during the bake
    (590, 600, 60, 10),   # then exactly when due: the bake's end, or the arrival of its data
    (600, 600, 60, None),  # the one due was taken
    (601, 600, 60, None),
    (0, 0, 60, None),     # bake 0 without metrics: one measurement
    (0, 3, 60, 3),        # bake 0 with metrics: one more once its checks' data arrived
])
def test_next_wait(now, due, interval, wait):
    assert next_wait(now, due, interval) == wait
