"""orchestra.gcp Redis backup benchmark: a backup of a filled Memorystore instance against the bare export, and its verification.

    .venv/bin/python benchmarks/redis_backup.py [--megabytes 200] [--repeat 3] [--output FILE]

scripts/test.sh's bench stage runs it small (--megabytes 10 --repeat 1), unchecked, so that it stays runnable.

Set-up, not timed: a bucket and a BASIC instance in the local emulator (a real redis-server), filled through redis-py
pipelines with --megabytes MiB of values of VALUE_BYTES random bytes (incompressible, so the RDB file is as large as
the data). Then each repeat, on a fresh backup prefix, measures three things against the same emulator:

(a) the floor: ``plain_export.py``, the same export with the bare google-cloud-redis client (CloudRedisClient over REST,
    export_instance to a gs:// URI, operation.result()) in a fresh Python process - the least any tool can do;
(b) ``orchestra.gcp.redis_backup`` as one ansible-playbook run: the export, the RDB read back and hashed (sha256),
    checked by redis-check-rdb, and the manifest written;
(c) the verification of the ``orchestra.gcp.redis_backup`` role alone on that backup, as one ansible-playbook run: the
    role with a min_interval the backup just taken satisfies, so it takes none and verifies that one (a scratch
    instance created, the backup restored into it, compared with the RDB loaded by a local redis-server, deleted).

(b) and (c) are split into spans between their calls in the emulator's log (each call's start, and how long the
emulator took to answer it; a download's streaming is not in that time): the export is its ``:export`` call (Redis's
SAVE, the object's write and digests); "download, sha256 and check" runs from the first ranged GET of the RDB to the
manifest's upload; the other spans are Ansible's and the module's start-up, reads, the manifest and the exit. Within
that span, the check's share comes from redis-check-rdb timed on its own on the same RDB in the same repeat, and the
download's is compared with sha256 alone and a plain streamed download (urllib, 1 MiB reads) hashing as it goes, timed
there too. Ansible's own start-up (a play with no task) is timed in each repeat, and (a) and (b) take turns at going
first. Every figure is the median over the repeats; every comparison is a ratio.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import redis
from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_v1
from orchestra_emulator.redis_v1 import MEGABYTES_PER_GB
from run import PROJECT, REGION, Runner, machine, publish, started_emulator

HERE = Path(__file__).resolve().parent
BUCKET = "orchestra-bench-redis-backups"
SOURCE = "bench-cache"
VALUE_BYTES = 4000  # with Redis's string header, 4 KiB: jemalloc's size class, no waste
PIPELINE = 1000  # SETs per round trip
HEADROOM = 1.5  # maxmemory over the data set (keys, dictionary, the server's own)
READ_BYTES = 1 << 20


def memory_size_gb(megabytes):
    """The instance's memorySizeGb whose emulated maxmemory (MEGABYTES_PER_GB MiB a GB) holds the data set."""
    return max(1, math.ceil(megabytes * HEADROOM / MEGABYTES_PER_GB))


def instance_name(name):
    return "projects/%s/locations/%s/instances/%s" % (PROJECT, REGION, name)


def set_up(emulator, args):
    """The bucket and the source instance (with the bare clients), filled; returns the data set's description."""
    gigabytes = memory_size_gb(args.megabytes)
    request = urllib.request.Request("%s/storage/v1/b?project=%s" % (emulator.endpoint, PROJECT), method="POST",
                                     data=json.dumps({"name": BUCKET, "location": "US"}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    client = redis_v1.CloudRedisClient(credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": emulator.endpoint})
    client.create_instance(parent="projects/%s/locations/%s" % (PROJECT, REGION), instance_id=SOURCE,
                           instance=redis_v1.Instance(tier=redis_v1.Instance.Tier.BASIC, memory_size_gb=gigabytes)).result(timeout=60)
    instance = client.get_instance(name=instance_name(SOURCE))
    server = redis.Redis(host=instance.host, port=instance.port)
    keys = args.megabytes * 2**20 // VALUE_BYTES
    started = time.perf_counter()
    pipe = server.pipeline(transaction=False)
    for index in range(keys):
        pipe.set(b"key:%08d" % index, os.urandom(VALUE_BYTES))
        if (index + 1) % PIPELINE == 0:
            pipe.execute()
    pipe.execute()
    filled = time.perf_counter() - started
    if server.dbsize() != keys:
        sys.exit("the instance holds %d keys, not %d" % (server.dbsize(), keys))
    return dict(keys=keys, gigabytes=gigabytes, maxmemory=int(server.config_get("maxmemory")["maxmemory"]), used=server.info("memory")["used_memory"],
                filled=filled)


def calls_since(emulator, before):
    return emulator.admin("calls")["calls"][before:]


def first(calls, test, after=None):
    found = next((call for call in calls if test(call) and (after is None or call["start"] >= after["start"])), None)
    if found is None:
        sys.exit("the emulator's log lacks an expected call (%s)" % [c["method"] + " " + c["path"] for c in calls])
    return found


def media_of(name):
    return lambda call: call["method"] == "GET" and urllib.parse.unquote(call["path"]).endswith("/o/" + name)


def object_url(emulator, name, media=True):
    return "%s/storage/v1/b/%s/o/%s%s" % (emulator.endpoint, BUCKET, urllib.parse.quote(name, safe=""), "?alt=media" if media else "")


def floor(emulator, index):
    """(seconds of the plain export process, seconds of its export in it, seconds of the emulator's ``:export`` call)."""
    uri = "gs://%s/floor/%d.rdb" % (BUCKET, index)
    before = len(emulator.admin("calls")["calls"])
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / "plain_export.py"), emulator.endpoint, instance_name(SOURCE), uri],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.exit("plain_export.py failed:\n%s%s" % (done.stdout, done.stderr))
    export = first(calls_since(emulator, before), lambda call: call["method"] == "POST" and call["path"].endswith(":export"))
    return elapsed, json.loads(done.stdout)["export_seconds"], export["seconds"]


def timed_run(runner, emulator, tasks):
    """(seconds, wall-clock start, wall-clock end, the emulator's calls) of one ansible-playbook run of ``tasks``."""
    playbook = runner.playbook(tasks)
    before = len(emulator.admin("calls")["calls"])
    begin = time.time()
    seconds = runner.run(playbook)
    return seconds, begin, time.time(), calls_since(emulator, before)


def location(prefix):
    return dict(instance=SOURCE, region=REGION, bucket=BUCKET, prefix=prefix)


def backup(runner, emulator, prefix):
    """(b): redis_backup alone; its time, its pieces from the emulator's log, and the RDB's object name."""
    seconds, begin, end, calls = timed_run(runner, emulator, [{"orchestra.gcp.redis_backup": location(prefix)}])
    exports = [call for call in calls if call["method"] == "POST" and call["path"].endswith(":export")]
    with urllib.request.urlopen("%s/storage/v1/b/%s/o?prefix=%s/" % (emulator.endpoint, BUCKET, prefix), timeout=30) as answer:
        rdbs = [item["name"] for item in json.load(answer).get("items", []) if item["name"].endswith(".rdb")]
    if len(exports) != 1 or len(rdbs) != 1:
        sys.exit("redis_backup made %d exports and %d RDB objects under %s/, not one" % (len(exports), len(rdbs), prefix))
    export = exports[0]
    download = first(calls, media_of(rdbs[0]), after=export)
    manifest = first(calls, lambda call: call["method"] == "POST" and call["path"].startswith("/upload/storage/v1/b/"), after=download)
    pieces = {"start": calls[0]["start"] - begin, "reads": export["start"] - calls[0]["start"], "export": export["seconds"],
              "between": download["start"] - export["start"] - export["seconds"], "fetch": manifest["start"] - download["start"],
              "end": end - manifest["start"]}
    return dict(seconds=seconds, pieces=pieces, ranges=sum(media_of(rdbs[0])(call) for call in calls)), rdbs[0]


def pieces_alone(emulator, name):
    """The pieces of the read-back timed on their own, on the backup's RDB: a plain streamed download hashing as it goes,
    sha256 of the file, redis-check-rdb of the file; and the file's size."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-rdb-") as directory:
        path = os.path.join(directory, "backup.rdb")
        started = time.perf_counter()
        digest = hashlib.sha256()
        with urllib.request.urlopen(object_url(emulator, name), timeout=600) as answer, open(path, "wb") as handle:
            while block := answer.read(READ_BYTES):
                digest.update(block)
                handle.write(block)
        download = time.perf_counter() - started
        started = time.perf_counter()
        again = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(READ_BYTES):
                again.update(block)
        hashing = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(["redis-check-rdb", path], capture_output=True, check=True)
        check = time.perf_counter() - started
        return dict(download=download, hash=hashing, check=check), os.path.getsize(path)


def verification(runner, emulator, prefix, name):
    """(c): the redis_backup role, which takes no backup (min_interval) and verifies the newest; its time and pieces."""
    role = {"ansible.builtin.include_role": {"name": "orchestra.gcp.redis_backup"},
            "vars": {"redis_backup_%s" % key: value for key, value in dict(location(prefix), min_interval="1d").items()}}
    seconds, begin, end, calls = timed_run(runner, emulator, [role])
    if any(call["path"].endswith(":export") for call in calls):
        sys.exit("the role took a backup: its min_interval did not hold")
    create = first(calls, lambda call: call["method"] == "POST" and call["path"].endswith("/instances"))
    restore = first(calls, lambda call: call["method"] == "POST" and call["path"].endswith(":import"), after=create)
    fetch = first(calls, media_of(name), after=restore)
    delete = first(calls, lambda call: call["method"] == "DELETE" and "/instances/" in call["path"], after=fetch)
    with urllib.request.urlopen(object_url(emulator, name[:-len(".rdb")] + ".json"), timeout=30) as answer:
        state = (json.load(answer).get("verification") or {}).get("state")
    if state != "passed":
        sys.exit("the verification did not pass (its manifest says %r)" % state)
    return dict(seconds=seconds, pieces={"start": calls[0]["start"] - begin, "reads": create["start"] - calls[0]["start"],
                                         "create": restore["start"] - create["start"],
                                         "import": fetch["start"] - restore["start"], "compare": delete["start"] - fetch["start"],
                                         "delete": end - delete["start"]})


def repeat_once(runner, emulator, index):
    prefix = "bench-%d" % index
    ansible = runner.run(runner.playbook([]))
    if index % 2:  # (a) and (b) take turns at going first
        taken, name = backup(runner, emulator, prefix)
        plain, plain_export, plain_call = floor(emulator, index)
    else:
        plain, plain_export, plain_call = floor(emulator, index)
        taken, name = backup(runner, emulator, prefix)
    alone, size = pieces_alone(emulator, name)
    verified = verification(runner, emulator, prefix, name)
    return dict(ansible=ansible, plain=plain, plain_export=plain_export, plain_call=plain_call, backup=taken, alone=alone, size=size, verify=verified)


def median(repeats, read):
    return statistics.median(read(r) for r in repeats)


def share(part, whole):
    return "%.0f%%" % (100 * part / whole)


B_PIECES = (
    ("start", "Ansible's start-up and the module's, to its first call", False),
    ("reads", "the module's reads (the instance, the catalog), to the export", False),
    ("export", "the export: the `:export` call (Redis's SAVE, the object's write and digests)", True),
    ("between", "the operation's poll and the object's listing, to the download", False),
    ("fetch", "the download, sha256 and redis-check-rdb: the first ranged GET of the RDB to the manifest's upload", True),
    ("end", "the manifest's upload and the exit", False),
)
C_PIECES = (
    ("start", "Ansible's start-up, the role's argument check, the backup module's start, to its first call", "start-up"),
    ("reads", "the backup module's reads (no backup: min_interval), the next task's start, to the scratch instance's create", "the backup module"),
    ("create", "the scratch instance's create (its redis-server started), the restore's start and reads, to the import", "the create"),
    ("import", "the import (the emulator restarts its redis-server on the RDB), the verification's start and reads, to its download", "the import"),
    ("compare", "the verification: download, sha256, redis-check-rdb, a local redis-server loading the RDB, the comparison, the manifest; "
                "the delete's start", "the verification"),
    ("delete", "the scratch instance's delete and the exit", "the delete"),
)


def report(args, data, repeats):
    mib = 2**20
    plain = median(repeats, lambda r: r["plain"])
    plain_export = median(repeats, lambda r: r["plain_export"])
    plain_call = median(repeats, lambda r: r["plain_call"])
    ansible = median(repeats, lambda r: r["ansible"])
    taken = median(repeats, lambda r: r["backup"]["seconds"])
    verify = median(repeats, lambda r: r["verify"]["seconds"])
    piece = {key: median(repeats, lambda r, key=key: r["backup"]["pieces"][key]) for key, _label, _work in B_PIECES}
    alone = {key: median(repeats, lambda r, key=key: r["alone"][key]) for key in ("download", "hash", "check")}
    fetched = median(repeats, lambda r: r["backup"]["pieces"]["fetch"] - r["alone"]["check"])
    span = {key: median(repeats, lambda r, key=key: r["verify"]["pieces"][key]) for key, _label, _short in C_PIECES}
    size = repeats[0]["size"]
    overhead = taken - piece["export"] - piece["fetch"]
    lines = [
        "# orchestra.gcp Redis backup benchmark", "",
        "Measured %s on %s." % (datetime.date.today().isoformat(), machine()), "",
        "Command: `.venv/bin/python benchmarks/redis_backup.py --megabytes %d --repeat %d`" % (args.megabytes, args.repeat), "",
        "The data set: %d keys of %d random bytes (%d MiB of values), written with redis-py pipelines of %d SETs (not timed: %.1f s) into "
        "a BASIC instance of %d GB, which the emulator runs as a redis-server with maxmemory %d MiB (%d MiB a GB); Redis's used_memory "
        "%d MiB. Its RDB file: %.1f MiB. The values are incompressible, so the RDB is as large as the data, and Redis's SAVE tries "
        "its LZF compression on every value in vain, in (a) and (b) alike."
        % (data["keys"], VALUE_BYTES, args.megabytes, PIPELINE, data["filled"], data["gigabytes"], data["maxmemory"] // mib, MEGABYTES_PER_GB,
           data["used"] // mib, size / mib), "",
        "Each of %d repeats takes a fresh backup (a prefix of its own) against the same emulator; a figure is the median over the "
        "repeats, and every comparison is a ratio of two measurements of this run." % args.repeat, "",
        "## Times", "",
        "| run | seconds | / (a) |", "|---|---|---|",
        "| (a) the floor: `benchmarks/plain_export.py`, the bare client's export_instance + operation.result(), a fresh Python process "
        "| %.2f | 1.00 |" % plain,
        "| the export alone in that process (client, call, result; without Python's start-up and imports) | %.2f | %.2f |"
        % (plain_export, plain_export / plain),
        "| (b) `orchestra.gcp.redis_backup`, one ansible-playbook run: export, read back, sha256, redis-check-rdb, manifest | %.2f | %.2f |"
        % (taken, taken / plain),
        "| (c) the `redis_backup` role's verification alone, one ansible-playbook run: scratch create, restore, compare, delete | %.2f | %.2f |"
        % (verify, verify / plain),
        "| Ansible's own start-up: ansible-playbook of a play with no task | %.2f | %.2f |" % (ansible, ansible / plain),
        "", "(b) / (a): **%.2f**. (b) / the export alone: %.2f. (c) / (b): %.2f. The emulator's `:export` call itself (Redis's SAVE, the "
        "object's write and digests): %.2f s in (a), %.2f s in (b), %.2fx; (a) and (b) take turns at going first."
        % (taken / plain, taken / plain_export, verify / taken, plain_call, piece["export"], piece["export"] / plain_call),
        "", "## Where (b)'s time goes", "",
        "Spans between the calls of (b) in the emulator's log (each call's start, and how long the emulator took to answer it; a "
        "download's streaming is not in that time, so a download is measured from its first ranged GET, %d of them in 64 MiB chunks, to "
        "the next call)." % repeats[0]["backup"]["ranges"], "",
        "| piece of (b) | seconds | share of (b) |", "|---|---|---|",
    ]
    lines += ["| %s | %.2f | %s |" % (label, piece[key], share(piece[key], taken)) for key, label, _work in B_PIECES]
    lines += [
        "", "The backup's own work (export, download, hash, check) is %s of (b); the rest, %.2f s, is %.2fx Ansible's own start-up."
        % (share(piece["export"] + piece["fetch"], taken), overhead, overhead / ansible),
        "", "The download, sha256 and check, timed on their own on the same RDB file in the same repeat:", "",
        "| piece | seconds | MiB/s | / the module's download and sha256 |", "|---|---|---|---|",
        "| the module's download and sha256 (the span above less redis-check-rdb alone) | %.2f | %.0f | 1.00 |" % (fetched, size / mib / fetched),
    ]
    for key, label in (("download", "a plain streamed download (urllib, 1 MiB reads) hashing as it goes"), ("hash", "sha256 of the file"),
                       ("check", "redis-check-rdb of the file")):
        lines.append("| %s | %.2f | %.0f | %.2f |" % (label, alone[key], size / mib / alone[key], alone[key] / fetched))
    work = max((piece["export"], "the export"), (fetched, "the download and sha256"), (alone["check"], "redis-check-rdb"), (overhead, "the rest"))
    lines += [
        "", "Dominant in (b): %s (%s of (b)). The read-back and check cost %.2fx the export they follow; the module's download and sha256 "
        "take %.2fx a plain streamed download that hashes as it goes."
        % (work[1], share(work[0], taken), piece["fetch"] / piece["export"], fetched / alone["download"]),
        "", "## Where (c)'s time goes", "",
        "Spans between the calls of (c) in the emulator's log; each holds the start of the task that makes the call that ends it.", "",
        "| span of (c) | seconds | share of (c) |", "|---|---|---|",
    ]
    lines += ["| %s | %.2f | %s |" % (label, span[key], share(span[key], verify)) for key, label, _short in C_PIECES]
    dominant = max(C_PIECES, key=lambda item: span[item[0]])
    lines += ["", "Dominant in (c): %s (%s of (c))." % (dominant[2], share(span[dominant[0]], verify))]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--megabytes", type=int, default=200, help="MiB of values in the instance")
    parser.add_argument("--repeat", type=int, default=3, help="backups of each kind, each under a fresh name; the median counts")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()

    with started_emulator() as (emulator, work):
        runner = Runner(work, emulator)
        data = set_up(emulator, args)
        repeats = [repeat_once(runner, emulator, index) for index in range(args.repeat)]
    publish(report(args, data, repeats), args.output)


if __name__ == "__main__":
    main()
