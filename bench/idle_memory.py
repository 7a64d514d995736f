#!/usr/bin/env python3
"""Resident memory per idle keep-alive client connection: ours vs nginx vs Perl Perlbal.

Each server serves the same small file from one docroot with keep-alive on. The script opens
N connections one after another, makes one request on each and keeps it open (idle, waiting
for a next request), then reads the server's resident memory (RSS and PSS, summed over its
processes) and reports the growth per connection. Connections are opened sequentially so the
figure is what an idle connection holds, not the peak of N requests in flight.

    bench/idle_memory.py [--connections 5000] [--servers ours,nginx,perlbal] [--no-build]
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = b"0123456789abcdefghij"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"port {port} never opened")


def processes_of(pid):
    """The server process and its children (nginx workers)."""
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    return pids


def memory_kib(pid):
    rss = pss = 0
    for p in processes_of(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def request(sock):
    sock.sendall(b"GET /idle.txt HTTP/1.1\r\nHost: bench\r\n\r\n")
    got = b""
    while BODY not in got:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("server closed a keep-alive connection")
        got += chunk


def measure(name, proc, port, count):
    wait_port(port, proc)
    warm = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    for s in warm:
        request(s)
    for s in warm:
        s.close()
    time.sleep(0.5)
    before = memory_kib(proc.pid)
    conns = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        request(s)
        conns.append(s)
    time.sleep(1.0)
    after = memory_kib(proc.pid)
    for s in conns:
        s.close()
    rss = (after[0] - before[0]) * 1024 / count
    pss = (after[1] - before[1]) * 1024 / count
    print(f"{name:8} {count:6d} idle connections: {rss:7.0f} B RSS/conn  {pss:7.0f} B PSS/conn"
          f"  (RSS {before[0]} -> {after[0]} KiB)")
    return rss


def start(cmd, env=None):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--servers", default="ours,nginx,perlbal")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    need = args.connections + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, need * 2)), hard))

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ours_bin = os.path.join(target, "release", "perlbal")
    if "ours" in args.servers and not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "perlbal"], cwd=ROOT, check=True)

    tmp = tempfile.mkdtemp(prefix="perlbal-idlemem-")
    os.chmod(tmp, 0o755)  # nginx workers run as an unprivileged user
    results = {}
    try:
        docroot = os.path.join(tmp, "docroot")
        os.makedirs(docroot)
        with open(os.path.join(docroot, "idle.txt"), "wb") as f:
            f.write(BODY)
        for name in args.servers.split(","):
            port = free_port()
            if name == "ours" or name == "perlbal":
                conf = os.path.join(tmp, f"{name}.conf")
                with open(conf, "w") as f:
                    f.write(f"CREATE SERVICE web\n  SET role = web_server\n"
                            f"  SET listen = 127.0.0.1:{port}\n  SET docroot = {docroot}\n"
                            f"  SET persist_client = on\n  SET persist_client_idle_timeout = 600\n"
                            f"ENABLE web\n")
                binary = ours_bin if name == "ours" else "/usr/bin/perlbal"
                env = dict(os.environ, PERLBAL_WORKERS="1")
                proc = start(["taskset", "-c", "0", binary, f"--config={conf}"], env)
            elif name == "nginx":
                nginx = shutil.which("nginx") or "/usr/sbin/nginx"
                conf = os.path.join(tmp, "nginx.conf")
                with open(conf, "w") as f:
                    f.write(f"worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\n"
                            f"error_log {tmp}/nginx-error.log;\n"
                            f"events {{ worker_connections {need}; }}\n"
                            f"http {{ access_log off; sendfile on; tcp_nopush on;\n"
                            f"  keepalive_timeout 600s; keepalive_requests 100000000;\n"
                            f"  client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p;\n"
                            f"  fastcgi_temp_path {tmp}/f; uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;\n"
                            f"  server {{ listen 127.0.0.1:{port}; root {docroot}; }} }}\n")
                proc = start(["taskset", "-c", "0", nginx, "-p", tmp, "-c", conf])
            else:
                sys.exit(f"unknown server {name}")
            try:
                results[name] = measure(name, proc, port, args.connections)
            finally:
                stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "ours" in results and "nginx" in results and results["nginx"] > 0:
        print(f"ratio ours/nginx (RSS per idle connection): {results['ours'] / results['nginx']:.2f}x")
    if "ours" in results and "perlbal" in results and results["perlbal"] > 0:
        print(f"ratio ours/perlbal (RSS per idle connection): {results['ours'] / results['perlbal']:.2f}x")


if __name__ == "__main__":
    main()
