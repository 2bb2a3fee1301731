#!/usr/bin/env python3
"""Soak: mixed load on a plugin server for a fixed time, sampling its RSS (benches/soak.sh).

Serves the Python peer's three plugin versions (tests/support/peer.rs) from a release build,
schedules in a fresh SQLite file, and runs for MINUTES (30) at once:

- invoke 1.0.0 (SUCCESS in the first step): hey, SUCCESS_RPS requests/s;
- invoke 2.0.0 polling twice, 1 s apart (three steps, the last two resumed by the engine):
  hey, POLL_RPS requests/s;
- callback flows in this process, CALLBACK_FLOWS per second: invoke 2.0.0 in callback mode,
  `GET schedule/{trace_id}`, `POST` its callback URL, and the schedule again once it finished.

hey runs in 60 s rounds so that its own memory stays bounded. Every 10 s the server's VmRSS,
the count of unfinished invocations and the errors so far are printed as a CSV line; the end
prints the first, the largest and the last RSS and the slope of a least-squares line through
the second half of the samples (KiB per minute).

Environment: SUCCESS_RPS (15000), POLL_RPS (1000), CALLBACK_FLOWS (100), MINUTES (30); KEEP=1
keeps the temp dir (the SQLite file and the server log).
Usage: soak.py SERVER_BINARY
"""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from memory import Server, counts  # noqa: E402

SUCCESS_RPS = int(os.environ.get("SUCCESS_RPS", "15000"))
POLL_RPS = int(os.environ.get("POLL_RPS", "1000"))
CALLBACK_FLOWS = int(os.environ.get("CALLBACK_FLOWS", "100"))
MINUTES = float(os.environ.get("MINUTES", "30"))
CONNECTIONS = 25

errors = {"hey": 0, "callback": 0}
stop = threading.Event()


def hey_rounds(url, rps, body):
    per_worker = max(1, rps // CONNECTIONS)
    while not stop.is_set():
        out = subprocess.run(
            ["hey", "-z", "60s", "-c", str(CONNECTIONS), "-q", str(per_worker), "-m", "POST",
             "-T", "application/json", "-d", body, url],
            capture_output=True, text=True,
        ).stdout
        for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out):
            if code != "200":
                errors["hey"] += int(n)
        if "Error distribution:" in out:
            tail = out.split("Error distribution:", 1)[1]
            errors["hey"] += sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]", tail, re.M))


def request(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)


def callback_flows(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    base = "/bk_plugin/"
    interval = 1.0 / CALLBACK_FLOWS
    pending = []  # trace ids called back, to check once they finished
    next_at = time.monotonic()
    while not stop.is_set():
        try:
            inv = request(conn, "POST", base + "invoke/2.0.0",
                          json.dumps({"inputs": {"mode": "callback"}, "context": {}}))
            trace = inv["trace_id"]
            url = inv["data"]["outputs"]["callback_url"]
            token = url.split("/callback/")[1].strip("/")
            request(conn, "GET", f"{base}schedule/{trace}/")
            request(conn, "POST", f"{base}callback/{token}/", json.dumps({"n": 1}))
            pending.append((time.monotonic(), trace))
            while pending and time.monotonic() - pending[0][0] > 5:
                _, old = pending.pop(0)
                s = request(conn, "GET", f"{base}schedule/{old}/")
                if s["data"]["state"] != 4:
                    raise RuntimeError(f"{old} not SUCCESS 5 s after its callback: {s}")
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            errors["callback"] += 1
            print(f"# callback flow error: {e}", file=sys.stderr)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def slope_kib_per_min(samples):
    xs = [t / 60 for t, _ in samples]
    ys = [r for _, r in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main():
    import tempfile

    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp()
    db = f"{tmp}/s.db"
    server = Server(binary, db, f"{tmp}/server.log")
    server.start()
    time.sleep(2)
    print(f"# soak: {MINUTES} min, {SUCCESS_RPS} success invokes/s, {POLL_RPS} polling invokes/s, "
          f"{CALLBACK_FLOWS} callback flows/s; log {tmp}/server.log")
    threads = [
        threading.Thread(target=hey_rounds, args=(server.url("invoke/1.0.0"), SUCCESS_RPS,
                                                  '{"inputs":{"hello":"soak"},"context":{}}')),
        threading.Thread(target=hey_rounds, args=(server.url("invoke/2.0.0"), POLL_RPS,
                                                  '{"inputs":{"mode":"poll","polls":2,"interval":1},"context":{}}')),
        threading.Thread(target=callback_flows, args=(server,)),
    ]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    samples = []
    print("elapsed_s,rss_kib,anon_kib,file_kib,unfinished,finished,errors_hey,errors_callback",
          flush=True)
    while time.monotonic() - t0 < MINUTES * 60:
        time.sleep(10)
        elapsed = time.monotonic() - t0
        rss, anon, file = server.rss()
        c = counts(db)
        samples.append((elapsed, rss))
        print(f"{elapsed:.0f},{rss},{anon},{file},{c.get('unfinished', 0)},{c.get('finished', 0)},"
              f"{errors['hey']},{errors['callback']}", flush=True)
    stop.set()
    for t in threads:
        t.join()
    server.stop()
    half = samples[len(samples) // 2:]
    print(json.dumps({
        "rss_first_kib": samples[0][1],
        "rss_max_kib": max(r for _, r in samples),
        "rss_last_kib": samples[-1][1],
        "slope_second_half_kib_per_min": round(slope_kib_per_min(half), 1),
        "errors": errors,
    }))
    if os.environ.get("KEEP") != "1":  # KEEP=1 keeps the SQLite file and the server log
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
