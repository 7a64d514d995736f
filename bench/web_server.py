#!/usr/bin/env python3
"""web_server benchmark: our perlbal vs nginx (sendfile on) vs Perl Perlbal, driven by wrk.

Serves the same 1 KiB and 100 KiB files from one temporary docroot on loopback, runs wrk
(keep-alive) against each (server, size) in interleaved rounds with the server order rotated
every round, and prints medians of req/s, p50/p99 latency, server CPU per request (user and
system, from /proc/<pid>/stat) and server memory, plus the ratios ours/nginx and ours/perlbal
against the targets of the foundation issue.

Core placement (see bench/README.md for the reasoning):
  --cores 1    every server is pinned with taskset to the first CPU of our affinity set and runs
               one worker; wrk is pinned to the remaining CPUs.
  --cores 2    servers get the first two CPUs and two workers; wrk gets the remaining CPUs, or,
               on a 2-CPU machine, shares both CPUs with the server (same for every server).
  --cores both the two above, one after the other (default).

Stdlib only. Every process it starts runs in its own session and is killed on exit, on error
and on SIGINT/SIGTERM/SIGHUP.
"""

import argparse
import atexit
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
SIZES = {"1k": 1024, "100k": 100 * 1024}
SERVERS = ("ours", "nginx", "perlbal")

TARGET_RPS_VS_NGINX = 1.1
TARGET_P99_VS_NGINX = 1.0
TARGET_RPS_VS_PERLBAL = 14.0

WRK_LUA = r"""
-- Prints one machine-readable line with exact percentiles (microseconds) when wrk is done.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d sock_errors=%d status_errors=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max))
end
"""

# --------------------------------------------------------------------------------------------
# Process bookkeeping: everything we start is tracked and killed by process group on exit.

STARTED = []  # Popen objects, each the leader of its own session/process group


def spawn(argv, log_path, env=None):
    log = open(log_path, "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    log.close()
    STARTED.append(proc)
    return proc


def stop(proc, grace=3.0):
    """Stops one process we started (its whole process group), TERM first, then KILL."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    else:
        # The leader is gone; make sure no child of its group survived (nginx workers).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all():
    for proc in list(STARTED):
        stop(proc)


def on_signal(signum, _frame):
    raise SystemExit(f"\ninterrupted by signal {signum}; stopping servers")


def die(msg):
    raise SystemExit(f"web_server bench: {msg}")


# --------------------------------------------------------------------------------------------
# /proc readers


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def process_tree(pid):
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children_of(p))
    return tree


def cpu_ticks(pids):
    """(utime, stime) in clock ticks summed over pids (all threads of each are included)."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def memory_kib(pids):
    """(RSS, PSS) in KiB summed over pids; PSS splits pages shared between nginx processes."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE_KIB
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def thread_count(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return total


def cpu_stat():
    """Whole-machine tick counters from /proc/stat, summed over CPUs: (task, irq, steal, all),
    task being user+nice+system (time charged to some process), irq being irq+softirq (loopback
    TCP processing that no process is charged for), all including idle."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    return v[0] + v[1] + v[2], v[5] + v[6], v[7], sum(v[:8])


def busy_cpus(seconds=1.0):
    """CPUs' worth of work (task + irq ticks) the machine did over `seconds` while we idle."""
    a = cpu_stat()
    time.sleep(seconds)
    b = cpu_stat()
    return ((b[0] - a[0]) + (b[1] - a[1])) / CLK_TCK / seconds


def wait_until_quiet(limit_s, threshold=0.15):
    """Waits (at most limit_s) until other work uses under `threshold` of a CPU."""
    deadline = time.monotonic() + limit_s
    busy = busy_cpus()
    while busy > threshold and time.monotonic() < deadline:
        print(f"  machine busy ({busy:.0%} of a CPU used by others, load "
              f"{' '.join(loadavg())}); waiting", flush=True)
        time.sleep(10)
        busy = busy_cpus()
    if busy > threshold:
        print(f"  warning: still busy ({busy:.0%} of a CPU) after {limit_s}s; going on",
              file=sys.stderr, flush=True)
    return busy


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


# --------------------------------------------------------------------------------------------
# Servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, argv, log, port, env=None, workers=1):
        self.name, self.argv, self.log, self.port = name, argv, log, port
        self.env, self.workers, self.proc = env, workers, None

    def start(self, cpus):
        self.proc = spawn(["taskset", "-c", cpus] + self.argv, self.log, self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"{self.name} exited with status {self.proc.returncode} at startup; "
                    f"log {self.log}:\n{tail(self.log)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        die(f"{self.name} did not listen on 127.0.0.1:{self.port} within 15 s; "
            f"log {self.log}:\n{tail(self.log)}")

    def pids(self):
        return process_tree(self.proc.pid)

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def perlbal_config(docroot, web_port, mgmt_port):
    return f"""CREATE SERVICE mgmt
  SET role = management
  SET listen = 127.0.0.1:{mgmt_port}
ENABLE mgmt

CREATE SERVICE web
  SET role = web_server
  SET listen = 127.0.0.1:{web_port}
  SET docroot = {docroot}
  SET persist_client = on
ENABLE web
"""


def nginx_config(tmp, docroot, port, workers, open_file_cache):
    user = "user root root;\n" if os.geteuid() == 0 else ""
    cache = ("  open_file_cache max=1000 inactive=60s;\n  open_file_cache_valid 60s;\n"
             if open_file_cache else "")
    return f"""# Generated by bench/web_server.py: a private, foreground nginx on loopback.
{user}worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{
  worker_connections 4096;
}}
http {{
  default_type application/octet-stream;
  types {{ }}
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  client_body_temp_path {tmp}/nginx-client-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
{cache}  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {docroot};
    location / {{ }}
  }}
}}
"""


def make_servers(args, tmp, docroot, workers):
    servers = {}
    port, mgmt = free_port(), free_port()
    conf = os.path.join(tmp, f"ours-{workers}.conf")
    with open(conf, "w") as f:
        f.write(perlbal_config(docroot, port, mgmt))
    env = dict(os.environ, PERLBAL_WORKERS=str(workers))
    servers["ours"] = Server("ours", [args.ours_bin, f"--config={conf}"],
                             os.path.join(tmp, f"ours-{workers}.log"), port, env, workers)

    port = free_port()
    conf = os.path.join(tmp, f"nginx-{workers}.conf")
    with open(conf, "w") as f:
        f.write(nginx_config(tmp, docroot, port, workers, args.nginx_open_file_cache))
    servers["nginx"] = Server("nginx", ["nginx", "-p", tmp, "-e", f"{tmp}/nginx-error.log",
                                        "-c", conf],
                              os.path.join(tmp, f"nginx-{workers}.log"), port, None, workers)

    port, mgmt = free_port(), free_port()
    conf = os.path.join(tmp, f"perlbal-{workers}.conf")
    with open(conf, "w") as f:
        f.write(perlbal_config(docroot, port, mgmt))
    servers["perlbal"] = Server("perlbal", [args.perlbal_bin, f"--config={conf}"],
                                os.path.join(tmp, f"perlbal-{workers}.log"), port, None, 1)
    return {name: servers[name] for name in args.servers}


def check_serving(server, path, expected):
    """Two GETs on one connection: status 200, the exact bytes, and the connection kept."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for attempt in (1, 2):
            conn.request("GET", "/" + path)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or body != expected:
                die(f"{server.name} answered {resp.status} with {len(body)} bytes for /{path}")
            if resp.will_close and attempt == 1:
                print(f"  warning: {server.name} closes the connection after /{path}; "
                      "wrk will reconnect every request", file=sys.stderr)
                return
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# wrk


def run_wrk(args, lua, cpus, threads, url, duration, tmp):
    out_path = os.path.join(tmp, "wrk.out")
    with open(out_path, "wb"):
        pass
    argv = ["taskset", "-c", cpus, "wrk", f"-t{threads}", f"-c{args.connections}",
            f"-d{duration}s", "--latency", "-s", lua, url]
    proc = spawn(argv, out_path)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    STARTED.remove(proc)
    with open(out_path, errors="replace") as f:
        text = f.read()
    if proc.returncode != 0:
        die(f"wrk exited with {proc.returncode}:\n{text}")
    m = re.search(r"^BENCH (.*)$", text, re.M)
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if not m or not rps:
        die(f"could not parse wrk output:\n{text}")
    fields = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    fields["rps"] = float(rps.group(1))
    fields["wrk_cpu"] = usage.ru_utime + usage.ru_stime
    fields["text"] = text
    return fields


def measure(args, lua, server, size, cpus, threads, duration, tmp):
    pids = server.pids()
    u0, s0 = cpu_ticks(pids)
    m0 = cpu_stat()
    r = run_wrk(args, lua, cpus, threads, f"http://127.0.0.1:{server.port}/{size}.bin",
                duration, tmp)
    u1, s1 = cpu_ticks(pids)
    m1 = cpu_stat()
    if server.proc.poll() is not None:
        die(f"{server.name} died during the run; log:\n{tail(server.log)}")
    secs = r["duration_us"] / 1e6
    r["user_s"] = (u1 - u0) / CLK_TCK
    r["sys_s"] = (s1 - s0) / CLK_TCK
    r["server_util"] = (r["user_s"] + r["sys_s"]) / secs
    r["wrk_util"] = r["wrk_cpu"] / secs
    task, irq, steal, _ = (b - a for a, b in zip(m0, m1))
    # CPU used by processes other than the server and wrk (other builds, ...): noise indicator.
    r["other_util"] = max(task / CLK_TCK - r["user_s"] - r["sys_s"] - r["wrk_cpu"], 0.0) / secs
    r["irq_util"] = irq / CLK_TCK / secs
    r["steal_util"] = steal / CLK_TCK / secs
    if r["requests"] and r["bytes"] / r["requests"] < SIZES[size]:
        die(f"{server.name} {size}: only {r['bytes'] / r['requests']:.0f} bytes per response "
            f"for a {SIZES[size]}-byte file")
    errors = r["sock_errors"] + r["status_errors"]
    if errors:
        print(f"  warning: {server.name} {size}: {r['sock_errors']} socket errors, "
              f"{r['status_errors']} non-2xx/3xx responses", file=sys.stderr)
    return r


def measure_undisturbed(args, lua, server, size, cpus, threads, duration, tmp):
    """`measure`, after waiting for the machine to be quiet, retried (up to --retries times)
    while other processes took over 10% of a CPU during the run."""
    for attempt in range(args.retries + 1):
        if args.quiet_wait:
            wait_until_quiet(args.quiet_wait)
        r = measure(args, lua, server, size, cpus, threads, duration, tmp)
        if r["other_util"] <= 0.10 or attempt == args.retries:
            return r
        print(f"    {server.name:8} {size:5} disturbed (others used {r['other_util']:.0%} of a "
              "CPU); again", flush=True)
    return r


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary table."""
    counts = {}
    with open(path, errors="replace") as f:
        for line in f:
            cols = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(cols) >= 5 and cols[0].replace(".", "").isdigit() and cols[-1] != "total":
                counts[cols[-1]] = int(cols[3])
    return counts


def syscalls_per_request(args, lua, servers, size, cpus, threads, tmp):
    """Runs wrk once per server with `strace -c -f` attached to all its processes and threads;
    returns {server: ({syscall: calls per request}, requests)}. strace slows the servers down a
    lot, so only the counts per request mean anything, not the rates."""
    out = {}
    for name, server in servers.items():
        path = os.path.join(tmp, f"strace-{name}-{size}.txt")
        argv = ["strace", "-c", "-f", "-q", "-o", path]
        for pid in server.pids():
            argv += ["-p", str(pid)]
        tracer = spawn(argv, os.path.join(tmp, "strace.log"))
        time.sleep(1.0)  # attaching to every thread takes a moment
        r = run_wrk(args, lua, cpus, threads, f"http://127.0.0.1:{server.port}/{size}.bin",
                    args.duration, tmp)
        os.killpg(tracer.pid, signal.SIGINT)  # detach; strace writes the summary
        try:
            tracer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        stop(tracer)
        reqs = max(r["requests"], 1)
        out[name] = ({k: v / reqs for k, v in strace_counts(path).items()}, r["requests"])
    return out


def report_syscalls(args, server_cpus, wrk_cpus, threads, servers, tmp, lua):
    print(f"\n--- syscalls per request under strace -c -f (server CPU {server_cpus}; "
          f"{args.duration}s per server and size) ---")
    for size in args.sizes:
        per = syscalls_per_request(args, lua, servers, size, wrk_cpus, threads, tmp)
        names = sorted({k for counts, _ in per.values() for k in counts},
                       key=lambda k: -max(c.get(k, 0) for c, _ in per.values()))
        print(f"{size:5} {'syscall':18}" + "".join(f"{n:>10}" for n in per))
        for k in names:
            if max(c.get(k, 0) for c, _ in per.values()) >= 0.005:
                print(f"{'':5} {k:18}" + "".join(f"{per[n][0].get(k, 0):10.3f}" for n in per))
        print(f"{'':5} {'total':18}" + "".join(f"{sum(per[n][0].values()):10.3f}" for n in per))
        print(f"{'':5} {'(requests traced)':18}" + "".join(f"{per[n][1]:10}" for n in per))


# --------------------------------------------------------------------------------------------
# Placement, rounds, report


def placement(cores):
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        die(f"need at least 2 usable CPUs (one for the server, one for wrk); have {cpus}")
    if cores > len(cpus):
        die(f"--cores {cores} but only {len(cpus)} usable CPUs")
    server = cpus[:cores]
    rest = cpus[cores:]
    wrk = rest if rest else cpus  # no free CPU left: wrk shares the server's CPUs
    fmt = lambda cs: ",".join(map(str, cs))
    return fmt(server), fmt(wrk), len(wrk), not rest


def run_mode(args, cores, tmp, docroot, files, lua):
    server_cpus, wrk_cpus, n_wrk_cpus, shared = placement(cores)
    threads = args.threads or min(n_wrk_cpus, 2)
    print(f"\n=== {cores} core(s): servers on CPU {server_cpus} with {cores} worker(s); "
          f"wrk -t{threads} -c{args.connections} on CPU {wrk_cpus}"
          f"{' (shared with the server)' if shared else ''}; "
          f"{args.rounds} rounds x {args.duration}s (perlbal {args.perlbal_duration}s) ===")
    servers = make_servers(args, tmp, docroot, cores)
    results = {(n, s): [] for n in servers for s in args.sizes}
    memory = {}
    try:
        for server in servers.values():
            server.start(server_cpus)
            for size in args.sizes:
                check_serving(server, f"{size}.bin", files[size])
        idle = {n: memory_kib(s.pids()) for n, s in servers.items()}
        for server in servers.values():  # warm-up: page cache, allocator, connection setup
            for size in args.sizes:
                run_wrk(args, lua, wrk_cpus, threads,
                        f"http://127.0.0.1:{server.port}/{size}.bin", args.warmup, tmp)
        order = list(servers)
        for rnd in range(args.rounds):
            rotated = order[rnd % len(order):] + order[:rnd % len(order)]
            print(f"  round {rnd + 1}/{args.rounds}: order {' '.join(rotated)}  "
                  f"(load {' '.join(loadavg())})", flush=True)
            for size in args.sizes:
                for name in rotated:
                    dur = args.perlbal_duration if name == "perlbal" else args.duration
                    r = measure_undisturbed(args, lua, servers[name], size, wrk_cpus,
                                            threads, dur, tmp)
                    results[(name, size)].append(r)
                    print(f"    {name:8} {size:5} {r['rps']:10.0f} req/s  p99 "
                          f"{r['p99_us'] / 1000:7.2f} ms  server CPU {r['server_util']:4.0%}"
                          f"  wrk CPU {r['wrk_util']:4.0%}  softirq {r['irq_util']:4.0%}"
                          f"  others {r['other_util']:4.0%}  steal {r['steal_util']:3.0%}",
                          flush=True)
        for name, server in servers.items():
            rss, pss = memory_kib(server.pids())
            memory[name] = (idle[name], (rss, pss), thread_count(server.pids()),
                            len(server.pids()))
        report(args, cores, server_cpus, wrk_cpus, threads, servers, results, memory)
        if args.syscalls:
            report_syscalls(args, server_cpus, wrk_cpus, threads, servers, tmp, lua)
    finally:
        for server in servers.values():
            server.stop()
    return results


def med(rs, key):
    return statistics.median(r[key] for r in rs)


def spread(rs, key):
    vals = [r[key] for r in rs]
    m = statistics.median(vals)
    return (max(vals) - min(vals)) / m if m else 0.0


def verdict(ok):
    return "ok" if ok else "MISS"


def report(args, cores, server_cpus, wrk_cpus, threads, servers, results, memory):
    print(f"\n--- results, {cores} core(s) (server CPU {server_cpus}, wrk CPU {wrk_cpus}, "
          f"wrk -t{threads} -c{args.connections}; medians of {args.rounds} rounds) ---")
    print(f"{'size':5} {'server':8} {'req/s':>10} {'spread':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'CPU us/req':>10} {'user':>5} {'sys':>5} {'srv CPU':>7} {'wrk CPU':>7} {'softirq':>7} "
          f"{'others':>6}")
    for size in args.sizes:
        for name in servers:
            rs = results[(name, size)]
            reqs = sum(r["requests"] for r in rs)
            user = sum(r["user_s"] for r in rs)
            system = sum(r["sys_s"] for r in rs)
            per_req = (user + system) / reqs * 1e6 if reqs else float("nan")
            print(f"{size:5} {name:8} {med(rs, 'rps'):10.0f} {spread(rs, 'rps'):7.1%} "
                  f"{med(rs, 'p50_us') / 1000:7.2f} {med(rs, 'p99_us') / 1000:7.2f} "
                  f"{per_req:10.2f} {user / (user + system or 1):5.0%} "
                  f"{system / (user + system or 1):5.0%} {med(rs, 'server_util'):7.0%} "
                  f"{med(rs, 'wrk_util'):7.0%} {med(rs, 'irq_util'):7.0%} "
                  f"{med(rs, 'other_util'):6.0%}")
    if "ours" in servers:
        print(f"\n{'size':5} {'ratio':22} {'value':>8} {'target':>10}  verdict")
        for size in args.sizes:
            ours = results[("ours", size)]
            if "nginx" in servers:
                ng = results[("nginx", size)]
                r = med(ours, "rps") / med(ng, "rps")
                p = med(ours, "p99_us") / max(med(ng, "p99_us"), 1)
                print(f"{size:5} {'req/s ours/nginx':22} {r:7.2f}x {'>= 1.10x':>10}  "
                      f"{verdict(r >= TARGET_RPS_VS_NGINX)}")
                print(f"{size:5} {'p99 ours/nginx':22} {p:7.2f}x {'<= 1.00x':>10}  "
                      f"{verdict(p <= TARGET_P99_VS_NGINX)}")
            if "perlbal" in servers:
                pb = results[("perlbal", size)]
                r = med(ours, "rps") / med(pb, "rps")
                p = med(ours, "p99_us") / max(med(pb, "p99_us"), 1)
                print(f"{size:5} {'req/s ours/perlbal':22} {r:7.2f}x {'>= 14x':>10}  "
                      f"{verdict(r >= TARGET_RPS_VS_PERLBAL)}")
                print(f"{size:5} {'p99 ours/perlbal':22} {p:7.2f}x {'':>10}")
    print(f"\n{'server':8} {'procs':>5} {'threads':>7} {'idle RSS':>9} {'idle PSS':>9} "
          f"{'RSS after':>9} {'PSS after':>9}   (KiB, summed over the server's processes)")
    for name, ((irss, ipss), (rss, pss), threads_, procs) in memory.items():
        print(f"{name:8} {procs:5} {threads_:7} {irss:9} {ipss:9} {rss:9} {pss:9}")
    noisy = [(n, s) for (n, s), rs in results.items() if med(rs, "other_util") > 0.10]
    if noisy:
        print("\nnote: other processes used over 10% of a CPU during " +
              ", ".join(f"{n}/{s}" for n, s in noisy) + ": those figures are disturbed.")
    loaded = [(n, s) for (n, s), rs in results.items() if med(rs, "wrk_util") > 0.9 * threads]
    if loaded and server_cpus != wrk_cpus:
        print("\nnote: wrk was near 100% CPU in " +
              ", ".join(f"{n}/{s}" for n, s in loaded) +
              ": those figures may be bounded by the load generator, not the server.")


# --------------------------------------------------------------------------------------------


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See bench/README.md.")
    p.add_argument("--cores", choices=["1", "2", "both"], default="both",
                   help="server cores: 1 (per-core figure), 2, or both runs (default)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round, 2 s per run, 1 s warm-up (explicit options win)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5; --quick: 1)")
    p.add_argument("--duration", type=int,
                   help="seconds per wrk run against ours and nginx (default 10; --quick: 2)")
    p.add_argument("--perlbal-duration", type=int,
                   help="seconds per wrk run against Perl Perlbal (default 5; --quick: 2)")
    p.add_argument("--warmup", type=int,
                   help="seconds of discarded warm-up per server and size (default 2; --quick: 1)")
    p.add_argument("--connections", type=int, default=50, help="wrk -c")
    p.add_argument("--threads", type=int, default=0,
                   help="wrk -t (default: one per wrk CPU, at most 2)")
    p.add_argument("--sizes", default="1k,100k", help="comma list from: 1k,100k")
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="comma list from: ours,nginx,perlbal")
    p.add_argument("--nginx-open-file-cache", action="store_true",
                   help="also give nginx open_file_cache (off by default; see README)")
    p.add_argument("--quiet-wait", type=int, default=600,
                   help="before each run wait up to this many seconds for other processes to "
                        "use under 15%% of a CPU (0: do not wait)")
    p.add_argument("--retries", type=int, default=3,
                   help="runs during which other processes used over 10%% of a CPU are "
                        "repeated up to this many times")
    p.add_argument("--syscalls", action="store_true",
                   help="after the rounds, count syscalls per request with strace -c -f")
    p.add_argument("--no-build", action="store_true", help="skip cargo build")
    p.add_argument("--ours-bin", default=None, help="path of our perlbal binary")
    p.add_argument("--perlbal-bin", default="/usr/bin/perlbal", help="Perl Perlbal")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    args = p.parse_args()
    defaults = (1, 2, 2, 1) if args.quick else (5, 10, 5, 2)
    for name, default in zip(("rounds", "duration", "perlbal_duration", "warmup"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.sizes = [s for s in args.sizes.split(",") if s]
    args.servers = [s for s in args.servers.split(",") if s]
    if any(s not in SIZES for s in args.sizes) or not args.sizes:
        p.error(f"--sizes must be a comma list from {','.join(SIZES)}")
    if any(s not in SERVERS for s in args.servers) or not args.servers:
        p.error(f"--servers must be a comma list from {','.join(SERVERS)}")
    if min(args.rounds, args.duration, args.perlbal_duration, args.warmup) < 1:
        p.error("--rounds and durations must be at least 1")
    if args.ours_bin is None:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        args.ours_bin = os.path.join(target, "release", "perlbal")
    return args


def check_tools(args):
    needed = ["taskset", "wrk"] + (["strace"] if args.syscalls else [])
    if not args.no_build and "ours" in args.servers:
        needed.append("cargo")
    if "nginx" in args.servers:
        needed.append("nginx")
    missing = [t for t in needed if shutil.which(t) is None]
    if "perlbal" in args.servers and not os.access(args.perlbal_bin, os.X_OK):
        missing.append(args.perlbal_bin)
    if missing:
        die(f"missing tool(s): {', '.join(missing)}\n"
            "  install with: apt-get install -y nginx wrk perlbal libio-aio-perl util-linux")


def build(args):
    if args.no_build or "ours" not in args.servers:
        return
    print("building: cargo build --release -p perlbal", flush=True)
    rc = subprocess.call(["cargo", "build", "--release", "-p", "perlbal"], cwd=REPO)
    if rc != 0:
        die("cargo build failed")


def main():
    args = parse_args()
    atexit.register(stop_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    check_tools(args)
    build(args)
    if "ours" in args.servers and not os.access(args.ours_bin, os.X_OK):
        die(f"our binary {args.ours_bin} is missing (build it or pass --ours-bin)")

    tmp = tempfile.mkdtemp(prefix="perlbal-bench-")
    if not args.keep:
        atexit.register(shutil.rmtree, tmp, True)
    os.chmod(tmp, 0o755)
    docroot = os.path.join(tmp, "docroot")
    os.mkdir(docroot)
    files = {}
    for name in args.sizes:
        data = os.urandom(SIZES[name])
        with open(os.path.join(docroot, f"{name}.bin"), "wb") as f:
            f.write(data)
        files[name] = data
    lua = os.path.join(tmp, "report.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)

    print(f"web_server bench: {os.uname().release}, CPUs {sorted(os.sched_getaffinity(0))}, "
          f"load {' '.join(loadavg())}, temp dir {tmp}")
    print(f"  ours: {args.ours_bin}")
    if "nginx" in args.servers:
        ver = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        print(f"  nginx: {ver}; open_file_cache "
              f"{'on' if args.nginx_open_file_cache else 'off'}")
    print(f"  command: {' '.join(sys.argv)}")
    modes = [1, 2] if args.cores == "both" else [int(args.cores)]
    for cores in modes:
        run_mode(args, cores, tmp, docroot, files, lua)
    print(f"\nload at end: {' '.join(loadavg())}")


if __name__ == "__main__":
    main()
