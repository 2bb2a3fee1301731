#!/usr/bin/env python3
"""Memory and cold start of a plugin server (benches/memory.sh builds it and calls this).

Serves the Python peer's three plugin versions (tests/support/peer.rs) from a release build,
schedules in a fresh SQLite file, and reports:

- cold start on an empty file: process start to the first `meta/` answer;
- RSS idle (2 s after that answer);
- RSS after 100,000 invokes of 1.0.0 (SUCCESS in the first step);
- RSS after 100,000 invokes of 2.0.0 that POLL once with interval 0 and finish (each leaves a
  finished row in the file), once they have all finished;
- RSS after 10,000 invokes of 2.0.0 that wait for a callback (10,000 waiting rows);
- then the server is stopped and started again on that file RUNS times: cold start to the first
  `meta/` answer with 100,000 finished and 10,000 waiting invocations, and RSS idle after it.

The load client is hey (50 connections). RSS is VmRSS of /proc/PID/status, reported with its
two parts: anonymous memory (RssAnon: heap, stacks, caches) and file-backed pages (RssFile:
mostly the binary's own code, clean pages the kernel can drop and read again).

Usage: memory.py SERVER_BINARY [RUNS]
"""

import http.client
import json
import os
import shutil
import signal
import sqlite3
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    """(VmRSS, RssAnon, RssFile) in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return tuple(int(fields[k].split()[0]) for k in ("VmRSS", "RssAnon", "RssFile"))


def mib(kib):
    """An RSS triple as text: total (anon + file)."""
    total, anon, file = kib
    return f"{total / 1024:.1f} MiB ({anon / 1024:.1f} anon + {file / 1024:.1f} file)"


class Server:
    def __init__(self, binary, db, log):
        self.binary, self.db, self.log = binary, db, log
        self.port = free_port()
        self.proc = None

    def start(self):
        """Starts the server; the milliseconds from spawning it to its first `meta/` answer."""
        env = dict(
            os.environ,
            BK_PLUGIN_LISTEN=f"127.0.0.1:{self.port}",
            DATABASE_URL=f"sqlite://{self.db}",
            BKPAAS_ENVIRONMENT="stag",
            BK_APIGW_REQUIRE_EXEMPT="1",
            BKPAAS_APP_SECRET="bench",
        )
        out = open(self.log, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([self.binary], env=env, stdout=out, stderr=out)
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/bk_plugin/meta/")
                if c.getresponse().status == 200:
                    elapsed = (time.perf_counter() - t0) * 1000
                    c.close()
                    return elapsed
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: see {self.log}")
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("no answer within 30 s")
            time.sleep(0.0005)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)

    def rss(self):
        return rss_kib(self.proc.pid)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/bk_plugin/{path}"


def hey(url, n, body):
    out = subprocess.run(
        ["hey", "-n", str(n), "-c", "50", "-m", "POST", "-T", "application/json", "-d", body, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    bad = [line for line in out.splitlines() if line.strip().startswith("[") and "[200]" not in line]
    if bad:
        raise RuntimeError(f"hey saw non-200 answers: {bad}")


def counts(db):
    con = sqlite3.connect(db)
    try:
        return dict(
            con.execute(
                "SELECT CASE WHEN finish_at IS NULL THEN 'unfinished' ELSE 'finished' END, count(*)"
                " FROM bk_plugin_schedule GROUP BY 1"
            ).fetchall()
        )
    finally:
        con.close()


def wait_finished(db, unfinished, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if counts(db).get("unfinished", 0) <= unfinished:
            return
        time.sleep(0.2)
    raise RuntimeError(f"invocations still unfinished after {timeout} s: {counts(db)}")


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    tmp = tempfile.mkdtemp()
    db, log = f"{tmp}/s.db", f"{tmp}/server.log"
    server = Server(binary, db, log)
    report = {}

    report["cold_start_empty_ms"] = round(server.start(), 1)
    time.sleep(2)
    report["rss_idle"] = mib(server.rss())

    hey(server.url("invoke/1.0.0"), 100_000, '{"inputs":{"hello":"bench"},"context":{}}')
    time.sleep(1)
    report["rss_after_100k_success_invokes"] = mib(server.rss())

    hey(server.url("invoke/2.0.0"), 100_000, '{"inputs":{"mode":"poll","polls":1,"interval":0},"context":{}}')
    wait_finished(db, 0)
    time.sleep(1)
    report["rss_after_100k_polled_to_success"] = mib(server.rss())

    hey(server.url("invoke/2.0.0"), 10_000, '{"inputs":{"mode":"callback"},"context":{}}')
    time.sleep(1)
    report["rss_with_10k_waiting"] = mib(server.rss())
    report["rows"] = counts(db)
    server.stop()
    report["sqlite_file_mib"] = round(
        sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p)) / 2**20, 1
    )

    starts, idle = [], []
    for _ in range(runs):
        starts.append(server.start())
        time.sleep(2)
        idle.append(server.rss())
        server.stop()
    report["cold_start_full_file_ms"] = [round(s, 1) for s in starts]
    report["cold_start_full_file_median_ms"] = round(statistics.median(starts), 1)
    report["rss_idle_full_file"] = mib(sorted(idle)[len(idle) // 2])
    report["rows_after"] = counts(db)
    print(json.dumps(report, indent=2))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
