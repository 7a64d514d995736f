#!/usr/bin/env python3
"""reproxy benchmark: our perlbal vs Perl Perlbal (X-REPROXY-*) vs nginx (X-Accel-Redirect).

A backend answers every request with an empty 200 that carries a reproxy directive, and the
proxy in front of it serves the real body:
  file-100k  X-REPROXY-FILE: a 100 KiB file on disk
  file-10m   X-REPROXY-FILE: a 10 MiB file on disk
  url-100k   X-REPROXY-URL: a 100 KiB file fetched from a static nginx
Ours and Perl Perlbal run the same config (`enable_reproxy = on`); nginx gets the same
directives as `X-Accel-Redirect: /internal/...`, whose `internal` locations are an `alias` to
the same files or a `proxy_pass` to the same static nginx. The backend and the static server
are one nginx (two server blocks, `add_header` + `return 200 ""`), so the backend is cheap.

wrk (keep-alive) runs against every (proxy, case) in interleaved rounds, the proxy order rotated
every round. Per run: req/s, p50/p99, the proxy's CPU seconds per request (utime + stime from
/proc/<pid>/stat) and the origin's connections and requests (nginx stub_status), which prove
every request went through the backend (and the static server for url-100k). Medians, ratios
and verdicts against the targets of the reproxy issue are printed; a copy of the output goes to
bench/results/.

Placement as in reverse_proxy.py: every proxy is pinned to the first CPU of our affinity set
with one worker; wrk and the origin nginx (one worker) share the other CPUs.

Stdlib only; process, /proc and wrk helpers from web_server.py and benchlib.py. Every process
it starts runs in its own session and is killed on exit, on error and on SIGINT/SIGTERM/SIGHUP.
"""

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # importing web_server must not leave bench/__pycache__
import web_server as ws  # noqa: E402  (process, /proc and wrk helpers)
from benchlib import (Proc, add_run_options, add_setup_options, build_ours,  # noqa: E402
                      count_lines, cpu_per_req, finish_options, get, make_tree, nginx_argv,
                      nginx_main, nginx_temp_paths, perf_self_time, placement,
                      print_load_notes, print_memory, print_ratios, print_results,
                      raise_fd_limit, run_wrk, strace_per_request, stub_status, tee_results,
                      undisturbed, write)

REPO = ws.REPO
CLK_TCK = ws.CLK_TCK
FILES = {"100k": 100 * 1024, "10m": 10 * 1024 * 1024}
# case name -> (directive kind, file); "url" means X-REPROXY-URL / proxy_pass to the static
# server, "file" X-REPROXY-FILE / alias.
CASES = {"file-100k": ("file", "100k"), "file-10m": ("file", "10m"), "url-100k": ("url", "100k")}
# Origin requests per proxied request: the backend's, plus the static server's for a URL.
ORIGIN_REQUESTS = {"file": 1, "url": 2}
# nginx runs twice: "nginx" with tcp_nopush off, "nginx-nopush" with it on (see
# nginx_proxy_config); ours is held against the better of the two in every case.
PROXIES = ("ours", "nginx", "nginx-nopush", "perlbal")
NGINXES = ("nginx", "nginx-nopush")

TARGET_VS_NGINX = 1.00  # ours / nginx, req/s
TARGET_VS_PERLBAL = 14.0  # ours / Perl Perlbal, req/s (and Perl Perlbal / ours, CPU per request)
GENERATOR = "bench/reproxy.py"


def die(msg):
    raise SystemExit(f"reproxy bench: {msg}")


# --------------------------------------------------------------------------------------------
# Configs


def origin_config(tmp, docroot, backend_port, static_port):
    """One nginx, one worker: the backend that answers with the directives (an empty 200 plus a
    header, nothing read from disk) and the static server the URLs point at.

    `tcp_nopush off`: with it on (TCP_CORK around sendfile), about 1% of the static server's
    100 KiB responses to a keep-alive proxy connection stalled for a delayed-ACK timeout, which
    put p99 at ~41 ms for ours and nginx alike (p90 under 8 ms); off, p99 is ~8 ms."""
    locations = []
    for kind, name in sorted(set(CASES.values())):
        path = f"{docroot}/{name}.bin"
        target = (f"http://127.0.0.1:{static_port}/{name}.bin" if kind == "url" else path)
        header = "X-REPROXY-URL" if kind == "url" else "X-REPROXY-FILE"
        locations.append(f"    location = /reproxy/{kind}/{name} "
                         f"{{ add_header {header} {target}; return 200 \"\"; }}\n")
        locations.append(f"    location = /accel/{kind}/{name} "
                         f"{{ add_header X-Accel-Redirect /internal/{kind}/{name}.bin; "
                         f"return 200 \"\"; }}\n")
    return nginx_main(tmp, "origin", GENERATOR) + f"""events {{
  worker_connections 4096;
}}
http {{
  default_type application/octet-stream;
  types {{ }}
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  access_log off;
  keepalive_requests 1000000000;
  keepalive_timeout 3600s;
  open_file_cache max=100 inactive=3600s;
  open_file_cache_valid 3600s;
{nginx_temp_paths(tmp, "origin")}  server {{
    listen 127.0.0.1:{backend_port} backlog=4096;
{"".join(locations)}    location = /_bench_status {{ stub_status; }}
    location / {{ return 404; }}
  }}
  server {{
    listen 127.0.0.1:{static_port} backlog=4096;
    root {docroot};
  }}
}}
"""


def nginx_proxy_config(tmp, tag, docroot, ports, open_file_cache, nopush):
    """nginx doing what a reproxying Perlbal does: the backend's X-Accel-Redirect lands in an
    `internal` location, an alias for files (sendfile, as ours) or a proxy_pass to the static
    server for URLs; both upstreams keep 64 idle connections.

    `tcp_nopush` (TCP_CORK around sendfile) is what nginx recommends for static files, but in
    this setup it stalls ~1% of the 100 KiB responses for a delayed-ACK timeout (p99 ~40 ms),
    which bounds nginx's req/s with 50 connections, while it gives nginx more req/s at 10 MiB.
    Hence the two nginx runs."""
    port, backend_port, static_port = ports
    cache = ("  open_file_cache max=100 inactive=3600s;\n  open_file_cache_valid 3600s;\n"
             if open_file_cache else "")
    upstream = ("\n    keepalive 64;\n    keepalive_requests 1000000000;"
                "\n    keepalive_timeout 3600s;")
    proxy = ("proxy_http_version 1.1;\n      proxy_set_header Connection \"\";")
    return nginx_main(tmp, tag, GENERATOR) + f"""events {{
  worker_connections 4096;
}}
http {{
  default_type application/octet-stream;
  types {{ }}
  access_log off;
  sendfile on;
  tcp_nopush {'on' if nopush else 'off'};
  tcp_nodelay on;
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
{cache}{nginx_temp_paths(tmp, tag)}  upstream backend {{
    server 127.0.0.1:{backend_port};{upstream}
  }}
  upstream static {{
    server 127.0.0.1:{static_port};{upstream}
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      {proxy}
    }}
    location /internal/file/ {{
      internal;
      alias {docroot}/;
    }}
    location /internal/url/ {{
      internal;
      proxy_pass http://static/;
      {proxy}
    }}
  }}
}}
"""


def perlbal_config(port, backend_port, persist_cache):
    return f"""CREATE POOL origin
POOL origin ADD 127.0.0.1:{backend_port}

CREATE SERVICE rp
  SET role = reverse_proxy
  SET listen = 127.0.0.1:{port}
  SET pool = origin
  SET persist_client = on
  SET persist_backend = on
  SET persist_client_idle_timeout = 600
  SET backend_persist_cache = {persist_cache}
  SET enable_reproxy = on
ENABLE rp
"""


def make_proxies(args, tmp, docroot, backend_port, static_port):
    proxies = {}
    for name in args.proxies:
        port = ws.free_port()
        log = os.path.join(tmp, f"{name}.log")
        if name in ("ours", "perlbal"):
            conf = write(os.path.join(tmp, f"{name}.conf"),
                         perlbal_config(port, backend_port, args.backend_persist_cache))
            binary = args.ours_bin if name == "ours" else args.perlbal_bin
            env = dict(os.environ, PERLBAL_WORKERS="1") if name == "ours" else None
            proxies[name] = Proc(name, [binary, f"--config={conf}"], log, port, env)
        else:
            conf = write(os.path.join(tmp, f"{name}.conf"),
                         nginx_proxy_config(tmp, name, docroot,
                                            (port, backend_port, static_port),
                                            args.nginx_open_file_cache,
                                            name == "nginx-nopush"))
            proxies[name] = Proc(name, nginx_argv(tmp, name, conf), log, port)
    return proxies


def case_path(proxy_name, case):
    kind, name = CASES[case]
    return f"/{'accel' if proxy_name in NGINXES else 'reproxy'}/{kind}/{name}"


# --------------------------------------------------------------------------------------------
# Correctness before timing


def check_reproxying(proxy, cases, files, origin_port):
    """Three GETs of every case on one client connection: status 200, exactly the file's bytes,
    the connection kept, and each request reaching the backend (and the static server for a
    URL). Returns the origin connections the proxy opened."""
    a0, r0 = stub_status(origin_port)
    expected = 0
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
        for case in cases:
            data = files[CASES[case][1]]
            for _ in range(3):
                status, headers, body = get(s, case_path(proxy.name, case))
                if status != 200 or body != data:
                    die(f"{proxy.name} answered {status} with {len(body)} bytes for {case} "
                        f"(expected 200 and the file's {len(data)} bytes)")
                if "close" in headers.get("connection", "").lower():
                    die(f"{proxy.name} closes the client connection after {case}")
                leaked = [h for h in ("x-reproxy-file", "x-reproxy-url", "x-accel-redirect")
                          if h in headers]
                if leaked:
                    die(f"{proxy.name} passed the directive {leaked} on to the client")
            expected += 3 * ORIGIN_REQUESTS[CASES[case][0]]
    a1, r1 = stub_status(origin_port)
    if r1 - r0 - 1 != expected:
        die(f"{proxy.name}: {expected} origin requests expected, {r1 - r0 - 1} arrived")
    return a1 - a0 - 1


# --------------------------------------------------------------------------------------------
# Runs


def wrk_load(args, ctx, proxy, case, duration):
    url = f"http://127.0.0.1:{proxy.port}{case_path(proxy.name, case)}"
    return lambda: run_wrk(ctx["lua"], ctx["load_cpus"], url, duration, args.threads,
                           args.connections, ctx["tmp"])


def measure(args, ctx, proxy, case, duration):
    kind, fname = CASES[case]
    origin = ctx["origin"]
    ppids, opids = proxy.pids(), origin.pids()
    u0, s0 = ws.cpu_ticks(ppids)
    o0 = sum(ws.cpu_ticks(opids))
    a0, q0 = stub_status(origin.port)
    m0 = ws.cpu_stat()
    r = wrk_load(args, ctx, proxy, case, duration)()
    m1 = ws.cpu_stat()
    u1, s1 = ws.cpu_ticks(ppids)
    o1 = sum(ws.cpu_ticks(opids))
    a1, q1 = stub_status(origin.port)
    if not proxy.alive():
        die(f"{proxy.name} died during the run; log:\n{ws.tail(proxy.log)}")
    secs = r["duration_us"] / 1e6
    reqs = max(r["requests"], 1)
    r["user_s"], r["sys_s"] = (u1 - u0) / CLK_TCK, (s1 - s0) / CLK_TCK
    r["origin_s"] = (o1 - o0) / CLK_TCK
    r["proxy_util"] = (r["user_s"] + r["sys_s"]) / secs
    r["load_util"] = (r["wrk_cpu"] + r["origin_s"]) / secs
    task, irq, _, _ = (b - a for a, b in zip(m0, m1))
    accounted = r["user_s"] + r["sys_s"] + r["wrk_cpu"] + r["origin_s"]
    r["other_util"] = max(task / CLK_TCK - accounted, 0.0) / secs
    r["irq_util"] = irq / CLK_TCK / secs
    r["origin_conns"] = a1 - a0 - 1  # each counter read adds one accept and one request
    r["origin_reqs_ratio"] = (q1 - q0 - 1) / reqs / ORIGIN_REQUESTS[kind]
    if r["requests"] and r["bytes"] / r["requests"] < FILES[fname]:
        die(f"{proxy.name} {case}: {r['bytes'] / r['requests']:.0f} bytes per response for a "
            f"{FILES[fname]}-byte file")
    if r["origin_reqs_ratio"] < 0.99:
        die(f"{proxy.name} {case}: only {r['origin_reqs_ratio']:.1%} of the expected origin "
            "requests arrived")
    if r["sock_errors"] + r["status_errors"]:
        print(f"  warning: {proxy.name} {case}: {r['sock_errors']} socket errors, "
              f"{r['status_errors']} non-2xx/3xx responses", file=sys.stderr, flush=True)
    return r


def run_rounds(args, ctx, proxies):
    results = {(p, c): [] for p in proxies for c in args.cases}
    order = list(proxies)
    for rnd in range(args.rounds):
        rotated = order[rnd % len(order):] + order[:rnd % len(order)]
        print(f"  round {rnd + 1}/{args.rounds}: order {' '.join(rotated)}  "
              f"(load {' '.join(ws.loadavg())})", flush=True)
        for case in args.cases:
            for name in rotated:
                dur = args.perlbal_duration if name == "perlbal" else args.duration
                r = undisturbed(args, lambda: measure(args, ctx, proxies[name], case, dur),
                                f"{name:12} {case:9}")
                results[(name, case)].append(r)
                print(f"    {name:12} {case:9} {r['rps']:9.0f} req/s  p99 "
                      f"{r['p99_us'] / 1000:7.2f} ms  proxy CPU {r['proxy_util']:4.0%} "
                      f"{(r['user_s'] + r['sys_s']) / max(r['requests'], 1) * 1e6:7.2f} us/req"
                      f"  load CPU {r['load_util']:4.0%}  softirq {r['irq_util']:4.0%}"
                      f"  others {r['other_util']:4.0%}  origin conns {r['origin_conns']}",
                      flush=True)
    return results


def report_syscalls(args, ctx, proxies):
    for case in args.syscall_cases:
        per = {}
        for name, proxy in proxies.items():
            per[name] = strace_per_request(
                proxy.pids(), wrk_load(args, ctx, proxy, case, args.perlbal_duration),
                os.path.join(ctx["tmp"], f"strace-{name}-{case}.txt"),
                os.path.join(ctx["tmp"], "strace.log"))
        print(f"\n--- syscalls per request under strace -c -f, {case} ---")
        names = sorted({k for c, _ in per.values() for k in c},
                       key=lambda k: -max(c.get(k, 0) for c, _ in per.values()))
        print(f"{'syscall':18}" + "".join(f"{n:>13}" for n in per))
        for k in names:
            if max(c.get(k, 0) for c, _ in per.values()) >= 0.005:
                print(f"{k:18}" + "".join(f"{per[n][0].get(k, 0):13.3f}" for n in per))
        print(f"{'total':18}" + "".join(f"{sum(per[n][0].values()):13.3f}" for n in per))
        print(f"{'(requests traced)':18}" + "".join(f"{per[n][1]:13}" for n in per))


def report_perf(args, ctx, proxies):
    for case in args.perf_cases:
        for name in args.perf_proxies:
            proxy = proxies[name]
            secs = max(args.duration - 2, 2)
            r, lines, sys_lines = perf_self_time(
                proxy.proc.pid, wrk_load(args, ctx, proxy, case, args.duration),
                os.path.join(ctx["tmp"], f"perf-{name}-{case}.data"),
                os.path.join(ctx["tmp"], "perf.log"), secs)
            print(f"\n--- perf self time, {name} {case} ({secs} s of a {args.duration} s run at "
                  f"{r['rps']:.0f} req/s; cpu-clock samples, % of samples) ---")
            print("\n".join(lines) or "(no samples: is perf allowed? see perf.log)")
            if sys_lines:
                print("  kernel time below each syscall entry (children, % of samples):")
                print("\n".join(sys_lines))


# --------------------------------------------------------------------------------------------
# Report


def report_table(args, ctx, proxies, results):
    print_results(f"\n--- results (proxy CPU {ctx['proxy_cpus']}; wrk -t{args.threads} "
                  f"-c{args.connections} and the origin nginx on CPU {ctx['load_cpus']}; "
                  f"medians of {args.rounds} rounds) ---", args.cases, proxies, results,
                  "origin_conns", "orig conn/1k", 9, 12)


def ratio_lines(results, case, proxies):
    """(label, value, target text, ok or None) for one case."""
    ours = results.get(("ours", case))
    if not ours:
        return []
    lines = []
    nginxes = [n for n in NGINXES if n in proxies]
    if nginxes:
        # Each figure is held against nginx's better configuration for it in this case.
        fast = max(nginxes, key=lambda n: ws.med(results[(n, case)], "rps"))
        r = ws.med(ours, "rps") / ws.med(results[(fast, case)], "rps")
        lines.append((f"req/s ours/{fast}", r, f">= {TARGET_VS_NGINX:.2f}x",
                      r >= TARGET_VS_NGINX))
        lean = min(nginxes, key=lambda n: cpu_per_req(results[(n, case)]))
        c = cpu_per_req(ours) / cpu_per_req(results[(lean, case)])
        lines.append((f"CPU/req ours/{lean}", c, "(info)", None))
        quick = min(nginxes, key=lambda n: ws.med(results[(n, case)], "p99_us"))
        p = ws.med(ours, "p99_us") / max(ws.med(results[(quick, case)], "p99_us"), 1)
        lines.append((f"p99 ours/{quick}", p, "(info)", None))
    if "perlbal" in proxies:
        pb = results[("perlbal", case)]
        r = ws.med(ours, "rps") / ws.med(pb, "rps")
        c = cpu_per_req(pb) / cpu_per_req(ours)
        lines.append(("req/s ours/perlbal", r, f">= {TARGET_VS_PERLBAL:.0f}x",
                      r >= TARGET_VS_PERLBAL))
        lines.append(("CPU/req perlbal/ours", c, f">= {TARGET_VS_PERLBAL:.0f}x",
                      c >= TARGET_VS_PERLBAL))
    return lines


def report_ratios(args, proxies, results):
    print_ratios(args.cases, lambda case: ratio_lines(results, case, proxies), 9, 27)


def report_notes(ctx, results):
    print_load_notes(results, ctx["n_load_cpus"], "origin")
    buffered = sum(count_lines(os.path.join(ctx["tmp"], f"{name}-error.log"),
                               "buffered to a temporary file") for name in NGINXES)
    if buffered:
        print(f"\nnote: nginx buffered {buffered} upstream responses to temporary files.")


# --------------------------------------------------------------------------------------------
# Setup and main


def split_list(text, allowed, what, p):
    items = [s for s in text.split(",") if s]
    if any(s not in allowed for s in items):
        p.error(f"{what} must be a comma list from {','.join(allowed)}")
    return items


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See bench/README.md.")
    add_run_options(p, "smoke run: 1 round, 2 s runs, 1 s warm-up")
    p.add_argument("--cases", default=",".join(CASES),
                   help=f"comma list from {','.join(CASES)} (default: all)")
    p.add_argument("--proxies", default=",".join(PROXIES),
                   help=f"comma list from {','.join(PROXIES)} (default: all)")
    p.add_argument("--backend-persist-cache", type=int, default=64,
                   help="backend_persist_cache for ours and Perl Perlbal (default 64, the size "
                        "of nginx's keepalive pool)")
    p.add_argument("--nginx-open-file-cache", action="store_true",
                   help="open_file_cache for the nginx proxy (default off, as nginx ships and "
                        "as ours: every request opens the file)")
    p.add_argument("--syscalls", default="",
                   help="comma list of cases to count syscalls per request with strace -c -f "
                        "after the rounds")
    p.add_argument("--perf", default="",
                   help="comma list of cases to profile with perf record after the rounds "
                        "(self time by symbol)")
    p.add_argument("--perf-proxies", default="ours", help="proxies --perf profiles (default ours)")
    add_setup_options(p, "reproxy")
    args = p.parse_args()
    finish_options(args, p, REPO)
    args.cases = split_list(args.cases, CASES, "--cases", p)
    args.proxies = split_list(args.proxies, PROXIES, "--proxies", p)
    args.syscall_cases = split_list(args.syscalls, CASES, "--syscalls", p)
    args.perf_cases = split_list(args.perf, CASES, "--perf", p)
    args.perf_proxies = [n for n in split_list(args.perf_proxies, PROXIES, "--perf-proxies", p)
                         if n in args.proxies]
    if not args.cases or not args.proxies:
        p.error("--cases and --proxies must not be empty")
    return args


def check_tools(args):
    needed = ["taskset", "wrk", "nginx"] + (["strace"] if args.syscall_cases else [])
    needed += ["perf"] if args.perf_cases else []
    if not args.no_build and "ours" in args.proxies:
        needed.append("cargo")
    missing = [t for t in needed if shutil.which(t) is None]
    if "perlbal" in args.proxies and not os.access(args.perlbal_bin, os.X_OK):
        missing.append(args.perlbal_bin)
    if missing:
        die(f"missing tool(s): {', '.join(missing)}\n  install with: apt-get install -y nginx "
            "wrk perlbal libio-aio-perl util-linux strace linux-perf")


def print_header(args, ctx):
    print(f"reproxy bench: {os.uname().release}, CPUs {sorted(os.sched_getaffinity(0))}, "
          f"load {' '.join(ws.loadavg())}, temp dir {ctx['tmp']}")
    print(f"  ours: {args.ours_bin} (PERLBAL_WORKERS=1; enable_reproxy = on)")
    print(f"  perlbal: {args.perlbal_bin} (same config)")
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    print(f"  nginx: {nginx_v} (1 worker; X-Accel-Redirect to internal alias / proxy_pass; "
          f"open_file_cache {'on' if args.nginx_open_file_cache else 'off'}); nginx: "
          "tcp_nopush off, nginx-nopush: on")
    print(f"  origin: one nginx (1 worker): backend answering the directives + static server "
          f"for the URLs; backend_persist_cache (ours, perlbal) {args.backend_persist_cache}")
    print(f"  proxies on CPU {ctx['proxy_cpus']}; wrk -t{args.threads} -c{args.connections} and "
          f"the origin on CPU {ctx['load_cpus']}; {args.rounds} rounds x {args.duration}s "
          f"(perlbal {args.perlbal_duration}s)")
    print(f"  command: {' '.join(sys.argv)}", flush=True)


def main():
    args = parse_args()
    atexit.register(ws.stop_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, ws.on_signal)
    check_tools(args)
    build_ours(args, REPO)
    output = tee_results(REPO, "reproxy", args.output)
    raise_fd_limit()
    tmp, docroot, files, lua = make_tree(args, "perlbal-rpxbench-", FILES)
    proxy_cpus, load_cpus, n_load = placement(args, "origin")
    ctx = dict(tmp=tmp, lua=lua, proxy_cpus=proxy_cpus, load_cpus=load_cpus, n_load_cpus=n_load)
    print_header(args, ctx)
    backend_port, static_port = ws.free_port(), ws.free_port()
    conf = write(os.path.join(tmp, "origin.conf"),
                 origin_config(tmp, docroot, backend_port, static_port))
    origin = Proc("origin", nginx_argv(tmp, "origin", conf), os.path.join(tmp, "origin.log"),
                  backend_port)
    origin.start(load_cpus)
    ctx["origin"] = origin
    proxies = make_proxies(args, tmp, docroot, backend_port, static_port)
    run_benchmark(args, ctx, proxies, files)
    print(f"\nload at end: {' '.join(ws.loadavg())}")
    if output:
        print(f"output saved to {os.path.relpath(output, REPO)}")


def run_benchmark(args, ctx, proxies, files):
    try:
        for proxy in proxies.values():
            proxy.start(ctx["proxy_cpus"])
            conns = check_reproxying(proxy, args.cases, files, ctx["origin"].port)
            print(f"  {proxy.name}: reproxies {', '.join(args.cases)} byte for byte on one "
                  f"client connection ({conns} origin connection(s) opened)")
        idle = {n: ws.memory_kib(p.pids()) for n, p in proxies.items()}
        for proxy in proxies.values():
            for case in args.cases:
                wrk_load(args, ctx, proxy, case, args.warmup)()
        results = run_rounds(args, ctx, proxies)
        memory = {name: (idle[name], ws.memory_kib(proxy.pids()),
                         ws.thread_count(proxy.pids()), len(proxy.pids()))
                  for name, proxy in proxies.items()}
        report_table(args, ctx, proxies, results)
        report_ratios(args, proxies, results)
        print_memory(memory, 12)
        report_notes(ctx, results)
        if args.syscall_cases:
            report_syscalls(args, ctx, proxies)
        if args.perf_cases:
            report_perf(args, ctx, proxies)
    finally:
        for proxy in proxies.values():
            proxy.stop()


if __name__ == "__main__":
    main()
