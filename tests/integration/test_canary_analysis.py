"""cloud_run_canary_analysis against the emulator: revisions told to fail or slow down, judged by
their request metrics (read from the emulated Cloud Monitoring) and by HTTP checks."""

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
        dict(name=name, region="{{ region }}", canary="canary", window=60, min_requests=20), **options)}


def traffic_to(url, n):
    """HTTP checks that also make the traffic the metrics count (the canary's tag URL is its own)."""
    return [{"url": url, "requests": n, "status": [200, 503]}]


def run(emulated, name, **options):
    play = emulated.run([dict(name="analysis", **analysis(name, **options))])
    assert play.rc == 0, play.stdout
    return play.task("analysis")


def test_healthy_canary_passes(emulated):
    name = emulated.name("healthy")
    _v1, canary, url = canary_setup(emulated, name)
    result = run(emulated, name, http_checks=traffic_to(url, 30))
    assert result["verdict"] == "pass", result["reason"]
    assert result["canary"] == canary and result["measurements"][0]["canary"]["requests"] == 30
    assert result["measurements"][0]["canary"]["error_ratio"] == 0


def test_a_tenth_of_5xx_fails_with_the_numbers(emulated):
    name = emulated.name("errors")
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-bad", "error_ratio": 0.1})
    _v1, _canary, url = canary_setup(emulated, name, "2.0.0-bad")
    result = run(emulated, name, http_checks=traffic_to(url, 30))
    assert result["verdict"] == "fail"
    assert "error ratio 0.1 (limit 0.01)" in result["reason"]
    assert result["measurements"][0]["canary"] == dict(requests=30, errors=3, error_ratio=0.1, p95_ms=result[
        "measurements"][0]["canary"]["p95_ms"], p99_ms=result["measurements"][0]["canary"]["p99_ms"])


def test_latency_over_the_limit_fails(emulated):
    name = emulated.name("slow")
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-slow", "latency_ms": 120})
    _v1, _canary, url = canary_setup(emulated, name, "2.0.0-slow")
    result = run(emulated, name, max_p95_ms=100, http_checks=traffic_to(url, 20))
    assert result["verdict"] == "fail"
    assert "p95 latency (ms)" in result["reason"]


def test_no_traffic_follows_the_no_data_policy(emulated):
    name = emulated.name("quiet")
    canary_setup(emulated, name)
    verdicts = {policy: run(emulated, name, no_data=policy)["verdict"] for policy in ("pause", "fail", "pass")}
    assert verdicts == {"pause": "inconclusive", "fail": "fail", "pass": "pass"}


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
    assert result["measurements"][0]["baseline"]["requests"] == 20


def test_bake_with_consecutive_successes(emulated):
    name = emulated.name("bake")
    _v1, _canary, url = canary_setup(emulated, name)
    result = run(emulated, name, bake=3, interval=1, consecutive_successes=2, http_checks=traffic_to(url, 20))
    assert result["verdict"] == "pass" and len(result["measurements"]) == 2


def test_a_pass_waits_for_the_whole_bake_time(emulated):
    """One passing measurement would be enough for the verdict, yet the canary is watched until the bake ends."""
    name = emulated.name("minbake")
    _v1, _canary, url = canary_setup(emulated, name)
    result = run(emulated, name, bake=3, interval=1, consecutive_successes=1, http_checks=traffic_to(url, 20))
    assert result["verdict"] == "pass" and len(result["measurements"]) >= 2


def test_smoke_test_by_http_alone(emulated):
    name = emulated.name("smoke")
    _v1, _canary, url = canary_setup(emulated, name)
    good = run(emulated, name, metrics=False, http_checks=[{"url": url, "body": '"tag": "canary"', "requests": 3}])
    bad = run(emulated, name, metrics=False, http_checks=[{"url": url, "status": [204]}])
    assert good["verdict"] == "pass"
    assert bad["verdict"] == "fail" and "status 200 (1 of 1)" in bad["reason"]


def test_bad_input_names_the_problem(emulated):
    name = emulated.name("badinput")
    canary_setup(emulated, name)
    play = emulated.run([
        dict(name="short window", ignore_errors=True, **analysis(name, window=30)),
        dict(name="unknown canary", ignore_errors=True, **analysis(name, canary="nope")),
        dict(name="bad url", ignore_errors=True, **analysis(name, http_checks=[{"url": "ftp://x"}])),
        dict(name="bad numbers", ignore_errors=True, **analysis(name, bake=-1, interval=0, max_error_ratio=2)),
        dict(name="bad body regex", ignore_errors=True, **analysis(name, http_checks=[{"url": "/", "body": "("}])),
        dict(name="nothing to judge", ignore_errors=True, **analysis(name, metrics=False)),
    ])
    assert "window 30 must be at least 60" in play.task("short window")["msg"]
    assert "'nope' is neither a revision of the service nor one of its tags" in play.task("unknown canary")["msg"]
    assert "must be an http(s) URL or a path" in play.task("bad url")["msg"]
    numbers = play.task("bad numbers")["msg"]
    assert "bake -1 must not be negative" in numbers and "interval 0 must be at least 1" in numbers
    assert "max_error_ratio 2.0 must be between 0 and 1" in numbers
    assert "http_checks[0].body is not a regular expression" in play.task("bad body regex")["msg"]
    assert "with metrics=false, give at least one of http_checks" in play.task("nothing to judge")["msg"]
    assert not [c for c in emulated.emulator.calls() if "timeSeries" in c["path"]]  # refused before any metric read
