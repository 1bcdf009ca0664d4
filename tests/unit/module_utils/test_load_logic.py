# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud_run_load's pure parts: option checks, ab's arguments and the reading of ab's report."""

from __future__ import annotations

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._load import audience, command, parse, problems

# ApacheBench 2.3 (Debian's apache2-utils), run with -q -r -l: a served load, then one where nothing listened.
SERVED = """This is ApacheBench, Version 2.3 <$Revision: 1903618 $>
Copyright 1996 Adam Twiss, Zeus Technology Ltd, http://www.zeustech.net/
Licensed to The Apache Software Foundation, http://www.apache.org/

Benchmarking 127.0.0.1 (be patient).....done


Server Software:        SimpleHTTP/0.6
Server Hostname:        127.0.0.1
Server Port:            18765

Document Path:          /nope
Document Length:        Variable

Concurrency Level:      2
Time taken for tests:   0.022 seconds
Complete requests:      20
Failed requests:        0
Non-2xx responses:      20
Total transferred:      10480 bytes
HTML transferred:       6700 bytes
Requests per second:    898.84 [#/sec] (mean)
Time per request:       2.225 [ms] (mean)
Time per request:       1.113 [ms] (mean, across all concurrent requests)
Transfer rate:          459.87 [Kbytes/sec] received

Connection Times (ms)
              min  mean[+/-sd] median   max
Connect:        0    0   0.1      0       0
Processing:     1    2   0.6      2       3
Waiting:        1    2   0.6      2       3
Total:          1    2   0.6      2       3
"""
REFUSED = """Server Software:
Server Hostname:        127.0.0.1
Server Port:            18799

Document Path:          /
Document Length:        0 bytes

Concurrency Level:      2
Time taken for tests:   0.000 seconds
Complete requests:      4
Failed requests:        6
   (Connect: 0, Receive: 4, Length: 0, Exceptions: 2)
Total transferred:      0 bytes
HTML transferred:       0 bytes
Requests per second:    14652.01 [#/sec] (mean)
Time per request:       0.137 [ms] (mean)
Time per request:       0.068 [ms] (mean, across all concurrent requests)
"""


def options(**given):
    return dict(dict(url="https://canary---app-abc123-uc.a.run.app/healthz", audience=None, duration=None, requests=100,
                     concurrency=4, timeout=30), **given)


def test_the_report_gives_the_numbers_and_the_mean_time_not_the_one_across_concurrent_requests():
    assert parse(SERVED) == dict(requests=20, failed_requests=0, non_2xx=20, per_second=898.84, time_per_request_ms=2.225,
                                 seconds=0.022)


def test_failed_requests_are_read_from_their_own_line_and_non_2xx_is_0_when_ab_does_not_print_it():
    numbers = parse(REFUSED)
    assert (numbers["requests"], numbers["failed_requests"], numbers["non_2xx"]) == (4, 6, 0)


def test_without_a_completed_request_there_is_no_rate_nor_time_per_request():
    # ab prints "Requests per second" and "Time per request" only when a request completed.
    report = "\n".join(line for line in REFUSED.splitlines() if not line.startswith(("Requests per", "Time per")))
    numbers = parse(report.replace("Complete requests:      4", "Complete requests:      0"))
    assert (numbers["requests"], numbers["per_second"], numbers["time_per_request_ms"]) == (0, 0.0, None)


def test_a_report_without_its_summary_is_refused_naming_what_is_missing():
    with pytest.raises(ValueError, match="no requests, failed_requests, seconds"):
        parse("apr_socket_connect(): Connection refused (111)\n")
    with pytest.raises(ValueError, match="no failed_requests"):
        parse(SERVED.replace("Failed requests:        0\n", ""))


@pytest.mark.parametrize("given, problem", [
    (dict(url="ftp://host/"), "url must be an http:// or https:// URL with a host; got 'ftp://host/'"),
    (dict(url="app.a.run.app/"), "url must be an http:// or https:// URL with a host; got 'app.a.run.app/'"),
    (dict(url="https:///path"), "url must be an http:// or https:// URL with a host; got 'https:///path'"),
    (dict(concurrency=0), "concurrency must be 1 or more; got 0"),
    (dict(requests=3, concurrency=4), "requests must be at least concurrency (4); got 3"),
    (dict(duration=0), "duration must be more than 0 seconds; got 0"),
    (dict(duration=-5, requests=None), "duration must be more than 0 seconds; got -5"),
    (dict(timeout=0), "timeout must be 1 second or more; got 0"),
])
def test_bad_options_are_named(given, problem):
    assert problems(options(**given)) == [problem]


def test_good_options_have_no_problem():
    assert problems(options()) == []
    assert problems(options(url="http://127.0.0.1:8080", duration=3, requests=None, concurrency=1)) == []
    assert problems(options(duration=10, requests=4, concurrency=4)) == []


def test_the_token_goes_in_a_header_argument_and_duration_comes_before_requests():
    argv = command("/usr/bin/ab", options(duration=30, requests=500), {"Authorization": "Bearer eyJ.x.y"})
    assert argv[0] == "/usr/bin/ab" and argv[-1] == "https://canary---app-abc123-uc.a.run.app/healthz"
    assert argv[argv.index("-H") + 1] == "Authorization: Bearer eyJ.x.y"
    assert argv.index("-t") < argv.index("-n")  # -t implies -n 50000: a later -n overrides it
    assert {"-q", "-r", "-l"} <= set(argv) and argv[argv.index("-c") + 1] == "4" and argv[argv.index("-s") + 1] == "30"


def test_without_a_token_no_header_goes_and_a_url_without_path_gets_one():
    argv = command("ab", options(url="http://127.0.0.1:9000", requests=None, duration=5), {})
    assert "-H" not in argv and "-n" not in argv and argv[-1] == "http://127.0.0.1:9000/"


def test_the_audience_is_the_option_or_the_origin_of_the_url():
    assert audience(options()) == "https://canary---app-abc123-uc.a.run.app"
    assert audience(options(url="http://127.0.0.1:9000/a?b=1")) == "http://127.0.0.1:9000"
    assert audience(options(audience="https://app-abc123-uc.a.run.app")) == "https://app-abc123-uc.a.run.app"
