"""cloud_run_canary_analysis against the emulator: revisions told to fail or slow down, judged by
their request metrics (read from the emulated Cloud Monitoring, whose data arrives late as Google's
does, scaled down) and by HTTP checks."""

import datetime
import json
import re

import pytest

from monitoring_lag import METRICS_DELAY
from test_cloud_run_service import deploy


def canary_setup(emulated, name, canary_image="2.0.0"):
    """A service with v1 stable (serving 100%, tag stable) and a canary revision under tag canary."""
    play = emulated.run([
        dict(name="v1", **deploy(name, "1.0.0", tag="stable")),
        dict(name="canary", **deploy(name, canary_image, traffic="none", tag="canary")),
    ])
    assert play.rc == 0, play.stdout
    return play.task("v1")["revision"], play.task("canary")["revision"], play.task("canary")["tag_url"]


def analysis(name, **options):
    return {"orchestra.gcp.cloud_run_canary_analysis": dict(
        dict(name=name, region="{{ region }}", canary="canary", window=60, min_requests=20, metrics_delay=METRICS_DELAY),
        **options)}


def traffic_to(url, n):
    """HTTP checks that also make the traffic the metrics count (the canary's tag URL is its own)."""
    return [{"url": url, "requests": n, "status": [200, 503]}]


def run(emulated, name, **options):
    play = emulated.run([dict(name="analysis", **analysis(name, **options))])
    assert play.rc == 0, play.stdout
    return play.task("analysis")


def seconds(stamp):
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_healthy_canary_passes(emulated):
    """The checks of the one measurement of the bake count once their data arrived, metrics_delay later."""
    name = emulated.name("healthy")
    _v1, canary, url = canary_setup(emulated, name)
    result = run(emulated, name, min_requests=30, http_checks=traffic_to(url, 30))
    assert result["verdict"] == "pass", result["reason"]
    first, last = result["measurements"]
    assert first["verdict"] == "no_data"  # its own checks have not all arrived yet
    assert result["canary"] == canary and last["canary"]["requests"] >= 30 and last["canary"]["error_ratio"] == 0
    assert seconds(last["window"]["end"]) >= seconds(first["time"])  # the window covers the bake's checks
    assert seconds(last["time"]) - seconds(last["window"]["end"]) == METRICS_DELAY
    assert "Cloud Monitoring data arrives up to %d s late" % METRICS_DELAY in result["reason"]


@pytest.mark.one_core
def test_without_the_delay_a_lagging_monitoring_undercounts(emulated):
    """Judging windows ending now, as if Monitoring's data were there at once, misses the last seconds: the
    checks of the measurement that ends the bake do not all count, and the canary has too few requests."""
    name = emulated.name("nodelay")
    _v1, _canary, url = canary_setup(emulated, name)
    result = run(emulated, name, min_requests=30, metrics_delay=0, http_checks=traffic_to(url, 30))
    assert result["verdict"] == "inconclusive" and len(result["measurements"]) == 1
    assert result["measurements"][0]["canary"]["requests"] < 30


@pytest.mark.one_core
def test_a_tenth_of_5xx_fails_with_the_numbers(emulated):
    name = emulated.name("errors")
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-bad", "error_ratio": 0.1})
    _v1, _canary, url = canary_setup(emulated, name, "2.0.0-bad")
    result = run(emulated, name, http_checks=traffic_to(url, 30))
    canary = result["measurements"][-1]["canary"]
    assert result["verdict"] == "fail"
    assert "error ratio %s (limit 0.01)" % canary["error_ratio"] in result["reason"]
    assert canary["requests"] >= 20 and abs(canary["errors"] - canary["requests"] / 10.0) <= 1  # one in ten
    assert canary["error_ratio"] == round(canary["errors"] / float(canary["requests"]), 4)


@pytest.mark.one_core
def test_latency_over_the_limit_fails(emulated):
    name = emulated.name("slow")
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-slow", "latency_ms": 120})
    _v1, _canary, url = canary_setup(emulated, name, "2.0.0-slow")
    result = run(emulated, name, max_p95_ms=100, http_checks=traffic_to(url, 20))
    assert result["verdict"] == "fail"
    assert "p95 latency (ms)" in result["reason"]


@pytest.mark.one_core
def test_no_traffic_follows_the_no_data_policy(emulated):
    name = emulated.name("quiet")
    canary_setup(emulated, name)
    verdicts = {policy: run(emulated, name, no_data=policy)["verdict"] for policy in ("pause", "fail", "pass")}
    assert verdicts == {"pause": "inconclusive", "fail": "fail", "pass": "pass"}


@pytest.mark.one_core
def test_worse_than_stable_but_under_the_limits_fails_the_comparison(emulated):
    name = emulated.name("worse")
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-worse", "latency_ms": 60})
    _v1, _canary, canary_url = canary_setup(emulated, name, "2.0.0-worse")
    play = emulated.run([
        dict(name="stable url", **{"orchestra.gcp.cloud_run_service_info": dict(name=name, region="{{ region }}")}),
    ])
    stable_url = next(s["uri"] for s in play.task("stable url")["service"]["traffic_statuses"] if s["tag"] == "stable")
    result = run(emulated, name, max_p95_ms=1000, baseline="stable",
                 http_checks=traffic_to(stable_url, 20) + traffic_to(canary_url, 20))
    assert result["verdict"] == "fail"
    assert "p95 latency (ms) against the baseline" in result["reason"]
    assert result["measurements"][-1]["baseline"]["requests"] >= 20


@pytest.mark.one_core
def test_bake_with_consecutive_successes(emulated):
    """Every check sent during the bake counts once its data arrived: the last window holds them all."""
    name = emulated.name("bake")
    _v1, _canary, url = canary_setup(emulated, name)
    result = run(emulated, name, bake=3, interval=1, consecutive_successes=2, min_requests=10, http_checks=traffic_to(url, 10))
    measurements = result["measurements"]
    assert result["verdict"] == "pass", [(m["time"], m["window"], m["canary"]["requests"]) for m in measurements]
    last = measurements[-1]
    # Every measurement taken by the end of the last window sent its checks within it; the next one may have
    # begun before that end.
    in_window = [m for m in measurements if seconds(m["time"]) <= seconds(last["window"]["end"])]
    assert len(in_window) >= 2
    assert 10 * len(in_window) <= last["canary"]["requests"] <= 10 * (len(in_window) + 1)
    assert [m["verdict"] for m in measurements[-2:]] == ["pass", "pass"]


@pytest.mark.one_core
def test_a_pass_waits_for_the_whole_bake_time(emulated):
    """One passing measurement would be enough for the verdict, yet the canary is watched until the bake's data arrived."""
    name = emulated.name("minbake")
    _v1, _canary, url = canary_setup(emulated, name)
    result = run(emulated, name, bake=3, interval=1, consecutive_successes=1, http_checks=traffic_to(url, 20))
    first, last = result["measurements"][0], result["measurements"][-1]
    assert result["verdict"] == "pass"
    assert seconds(last["time"]) - seconds(first["time"]) >= 3 + METRICS_DELAY - 0.5


def test_smoke_test_by_http_alone(emulated):
    name = emulated.name("smoke")
    _v1, _canary, url = canary_setup(emulated, name)
    good = run(emulated, name, metrics=False, http_checks=[{"url": url, "body": '"tag": "canary"', "requests": 3}])
    bad = run(emulated, name, metrics=False, http_checks=[{"url": url, "status": [204]}])
    assert good["verdict"] == "pass"
    assert bad["verdict"] == "fail" and "status 200 (1 of 1)" in bad["reason"]
    # Each check's requests carry one sampled trace context to the container, and the result names its trace.
    traced = run(emulated, name, metrics=False, http_checks=[{"url": url, "body": '"traceparent": "00-[0-9a-f]{32}-[0-9a-f]{16}-01"', "requests": 2}])
    assert traced["verdict"] == "pass" and re.fullmatch(r"[0-9a-f]{32}", json.dumps(traced).split('"trace_id": "')[1][:32])


def test_bad_input_names_the_problem(emulated):
    name = emulated.name("badinput")
    canary_setup(emulated, name)
    play = emulated.run([
        dict(name="short window", ignore_errors=True, **analysis(name, window=30)),
        dict(name="unknown canary", ignore_errors=True, **analysis(name, canary="nope")),
        dict(name="bad url", ignore_errors=True, **analysis(name, http_checks=[{"url": "ftp://x"}])),
        dict(name="bad numbers", ignore_errors=True, **analysis(name, bake=-1, interval=0, max_error_ratio=2, metrics_delay=-1)),
        dict(name="bad body regex", ignore_errors=True, **analysis(name, http_checks=[{"url": "/", "body": "("}])),
        dict(name="nothing to judge", ignore_errors=True, **analysis(name, metrics=False)),
    ])
    assert "window 30 must be at least 60" in play.task("short window")["msg"]
    assert "'nope' is neither a revision of the service nor one of its tags" in play.task("unknown canary")["msg"]
    assert "must be an http(s) URL or a path" in play.task("bad url")["msg"]
    numbers = play.task("bad numbers")["msg"]
    assert "bake -1 must not be negative" in numbers and "interval 0 must be at least 1" in numbers
    assert "metrics_delay -1 must not be negative" in numbers
    assert "max_error_ratio 2.0 must be between 0 and 1" in numbers
    assert "http_checks[0].body is not a regular expression" in play.task("bad body regex")["msg"]
    assert "with metrics=false, give at least one of http_checks" in play.task("nothing to judge")["msg"]
    assert not [c for c in emulated.emulator.calls() if "timeSeries" in c["path"]]  # refused before any metric read
