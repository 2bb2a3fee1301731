#!/usr/bin/env python3
"""Server memory under half-sent requests (issue 15): starts a plugin binary on 127.0.0.1 with a
fresh SQLite file, opens N connections that each send half a request head and stop, and prints
the server's resident memory before, while they are open, and after the header timeout closed
them, plus how many the server closed. Bounded: N connections, one run, loopback only.

    python3 benches/hostile_clients.py target/release/examples/sops-exec [N] [HEADER_TIMEOUT_S]
"""
import os, re, resource, socket, subprocess, sys, tempfile, time

binary = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
timeout = sys.argv[3] if len(sys.argv) > 3 else "5"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


tmp = tempfile.mkdtemp()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, BKPAAS_ENVIRONMENT="dev", BK_PLUGIN_LISTEN=f"127.0.0.1:{port}",
           DATABASE_URL=f"sqlite://{tmp}/b.db", BK_PLUGIN_HEADER_TIMEOUT=timeout)
env.pop("PORT", None)
server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(0.5)
    idle = rss_kib(server.pid)
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"POST /bk_plugin/invoke/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        conns.append(c)
    time.sleep(0.5)
    peak = rss_kib(server.pid)
    time.sleep(float(timeout) + 2)
    closed = 0
    for c in conns:
        c.settimeout(0.01)
        try:
            closed += c.recv(1) == b""
        except OSError as e:
            closed += not isinstance(e, socket.timeout)
        c.close()
    after = rss_kib(server.pid)
    print(f"{n} half-sent connections, header timeout {timeout} s: RSS idle {idle / 1024:.1f} MiB, "
          f"with them open {peak / 1024:.1f} MiB, after the timeout {after / 1024:.1f} MiB; "
          f"closed by the server: {closed}/{n}")
finally:
    server.terminate()
    server.wait(10)
