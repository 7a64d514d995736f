"""Helpers shared by the bench/ scripts that drive proxies: a stdout tee, a pinned server
process, raw-socket HTTP/1.1 GETs with exact bodies, small file and limit helpers, and (used by
reproxy.py) nginx config boilerplate, stub_status counters, a wrk runner, CPU per request,
strace syscall counts and a perf self-time profile.

Process bookkeeping (spawn, stop, /proc readers) lives in web_server.py and is reused from there.
"""

import atexit
import datetime
import os
import re
import resource
import signal
import socket
import subprocess
import shutil
import sys
import tempfile
import time

import web_server as ws


def die(msg):
    raise SystemExit(f"bench: {msg}")


class Tee:
    """Writes stdout to the terminal and to a results file."""

    def __init__(self, stream, path):
        self.stream, self.file = stream, open(path, "w")

    def write(self, text):
        self.stream.write(text)
        self.file.write(text)

    def flush(self):
        self.stream.flush()
        self.file.flush()


class Proc:
    """One server we run (a proxy or the backend): argv, port, log; started pinned with taskset."""

    def __init__(self, name, argv, log, port, env=None):
        self.name, self.argv, self.log, self.port, self.env = name, argv, log, port, env
        self.proc = None

    def start(self, cpus):
        self.proc = ws.spawn(["taskset", "-c", cpus] + self.argv, self.log, self.env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die(f"{self.name} exited with status {self.proc.returncode} at startup; "
                    f"log {self.log}:\n{ws.tail(self.log)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        die(f"{self.name} did not listen on 127.0.0.1:{self.port} within 15 s; "
            f"log {self.log}:\n{ws.tail(self.log)}")

    def pids(self):
        return ws.process_tree(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            ws.stop(self.proc)
            self.proc = None


def read_response(sock, buf=b""):
    """Reads one response with a Content-Length body; returns (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        raise ConnectionError("response without Content-Length")
    body = bytearray(rest)  # grows in place: a 10 MiB body is not copied once per chunk
    while len(body) < length:
        chunk = sock.recv(max(65536, min(length - len(body), 1 << 20)))
        if not chunk:
            raise ConnectionError("connection closed inside the body")
        body += chunk
    return status, headers, bytes(body[:length]), bytes(body[length:])


def get(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    status, headers, body, rest = read_response(sock)
    if rest:
        raise ConnectionError(f"{len(rest)} unexpected bytes after the response")
    return status, headers, body


def still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def count_lines(path, needle):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if needle in line)
    except OSError:
        return 0


# --------------------------------------------------------------------------------------------
# nginx boilerplate, stub_status, wrk, CPU per request (reproxy.py; reverse_proxy.py has its
# own copies of the first ones)


def nginx_main(tmp, tag, generator, workers=1):
    """The main-context lines of a private, foreground nginx whose files live in `tmp`."""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""# Generated by {generator}: a private, foreground nginx on loopback.
{user}worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/{tag}.pid;
error_log {tmp}/{tag}-error.log warn;
"""


def nginx_temp_paths(tmp, tag):
    return "".join(f"  {kind}_temp_path {tmp}/{tag}-{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def nginx_argv(tmp, tag, conf):
    return ["nginx", "-p", tmp, "-e", f"{tmp}/{tag}-error.log", "-c", conf]


def stub_status(port, path="/_bench_status"):
    """(accepts, requests) of an nginx with `stub_status` at `path`; the query itself adds one
    of each."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
                  .encode())
        _, _, body, _ = read_response(s)
    m = re.search(rb"\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n", body)
    if not m:
        die(f"cannot parse nginx stub_status: {body!r}")
    return int(m.group(1)), int(m.group(3))


def run_wrk(lua, cpus, url, duration, threads, connections, tmp, extra=()):
    """One pinned wrk run with `ws.WRK_LUA`'s report line; returns its fields (requests,
    duration_us, bytes, errors, p50_us..max_us), `rps` and wrk's own CPU seconds `wrk_cpu`."""
    out_path = os.path.join(tmp, "wrk.out")
    argv = (["taskset", "-c", cpus, "wrk", f"-t{threads}", f"-c{connections}",
             f"-d{duration}s", "--latency", "-s", lua] + list(extra) + [url])
    proc = ws.spawn(argv, out_path + ".new")
    _, status, usage = os.wait4(proc.pid, 0)
    ws.STARTED.remove(proc)
    os.replace(out_path + ".new", out_path)
    with open(out_path, errors="replace") as f:
        text = f.read()
    code = os.waitstatus_to_exitcode(status)
    m = re.search(r"^BENCH (.*)$", text, re.M)
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if code != 0 or not m or not rps:
        die(f"wrk exited with {code} or printed no result:\n{text}")
    fields = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    fields["rps"] = float(rps.group(1))
    fields["wrk_cpu"] = usage.ru_utime + usage.ru_stime
    return fields


def cpu_per_req(rs):
    """Microseconds of server CPU (user + sys) per request over the runs `rs`."""
    reqs = sum(r["requests"] for r in rs)
    cpu = sum(r["user_s"] + r["sys_s"] for r in rs)
    return cpu / reqs * 1e6 if reqs else float("nan")


# --------------------------------------------------------------------------------------------
# Where the time goes: strace -c and perf, attached to a running server during a load run


def strace_per_request(pids, load, out_path, log_path):
    """Runs `load()` (returns a wrk result) with `strace -c -f` attached to `pids`; returns
    ({syscall: calls per request}, requests). strace slows the server a lot: only the counts
    per request mean anything."""
    argv = ["strace", "-c", "-f", "-q", "-o", out_path]
    for pid in pids:
        argv += ["-p", str(pid)]
    tracer = ws.spawn(argv, log_path)
    time.sleep(1.0)  # attaching to every thread takes a moment
    r = load()
    os.killpg(tracer.pid, signal.SIGINT)  # detach; strace writes the summary
    try:
        tracer.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    ws.stop(tracer)
    reqs = max(r["requests"], 1)
    return {k: v / reqs for k, v in ws.strace_counts(out_path).items()}, r["requests"]


def perf_self_time(pid, load, data_path, log_path, seconds, top=30):
    """Runs `load()` while `perf record -F 4999 -e cpu-clock -g` samples process `pid` (all
    threads) for `seconds`; returns (wrk result, report lines: self time by dso, then by dso
    and symbol, then the kernel time below each syscall entry)."""
    argv = ["perf", "record", "-F", "4999", "-e", "cpu-clock", "-g", "-o", data_path,
            "-p", str(pid), "--", "sleep", str(seconds)]
    recorder = ws.spawn(argv, log_path)
    time.sleep(0.5)
    r = load()
    try:
        recorder.wait(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        ws.stop(recorder)
    if recorder in ws.STARTED:
        ws.STARTED.remove(recorder)
    report = ["perf", "report", "-i", data_path, "--stdio", "--no-header"]
    def rows(extra):
        out = subprocess.run(report + extra, capture_output=True, text=True).stdout
        return [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("#")]

    by_dso = rows(["--no-children", "--sort", "dso", "-g", "none"])[:5]
    by_sym = rows(["--no-children", "--sort", "dso,sym", "-g", "none",
                   "--percent-limit", "0.5"])[:top]
    # Syscall entry points; readv/writev's are inlined into do_readv/do_writev on some kernels.
    entries = re.compile(r"\[k\] (__x64_sys_\w+|do_writev|do_readv)$")
    by_syscall = [ln for ln in rows(["--children", "--sort", "sym", "-g", "none"])
                  if entries.search(ln)][:15]
    return r, by_dso + [""] + by_sym, by_syscall


# --------------------------------------------------------------------------------------------
# Results file


def undisturbed(args, run, label):
    """`run()` (a measurement whose result has "other_util") after waiting for a quiet
    machine; repeated, up to --retries times, while processes other than the ones measured
    took over 10% of a CPU. `label` names the run in the "again" line."""
    for attempt in range(args.retries + 1):
        if args.quiet_wait:
            ws.wait_until_quiet(args.quiet_wait)
        r = run()
        if r["other_util"] <= 0.10 or attempt == args.retries:
            return r
        print(f"    {label} disturbed (others used {r['other_util']:.0%} of a CPU); again",
              flush=True)
    return r


def build_ours(args, repo):
    """`cargo build --release -p perlbal` unless --no-build (or ours is not benchmarked), then
    checks that --ours-bin exists."""
    if not args.no_build and "ours" in args.proxies:
        print("building: cargo build --release -p perlbal", flush=True)
        if subprocess.call(["cargo", "build", "--release", "-p", "perlbal"], cwd=repo) != 0:
            die("cargo build failed")
    if "ours" in args.proxies and not os.access(args.ours_bin, os.X_OK):
        die(f"our binary {args.ours_bin} is missing (build it or pass --ours-bin)")


def make_tree(args, prefix, files):
    """A temp dir (removed at exit unless --keep) with a docroot holding `<name>.bin` of random
    bytes for each {name: size} of `files`, and the wrk report script. Returns
    (tmp, docroot, {name: bytes}, lua path)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    if not args.keep:
        atexit.register(shutil.rmtree, tmp, True)
    os.chmod(tmp, 0o755)
    docroot = os.path.join(tmp, "docroot")
    os.mkdir(docroot)
    contents = {}
    for name, size in files.items():
        data = os.urandom(size)
        write_bytes(os.path.join(docroot, f"{name}.bin"), data)
        contents[name] = data
    lua = write(os.path.join(tmp, "report.lua"), ws.WRK_LUA)
    return tmp, docroot, contents, lua


def git_rev(repo):
    """Short commit of `repo`, with `-dirty` when tracked files differ from it."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                         capture_output=True, text=True).stdout.strip() or "norev"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=repo, capture_output=True, text=True).stdout.strip()
    return rev + ("-dirty" if dirty else "")


def tee_results(repo, bench, output):
    """Copies stdout to `output`, by default bench/results/BENCH-DATE-REV.txt ('-': none);
    returns the path or None."""
    if output == "-":
        return None
    if output is None:
        day = datetime.date.today().isoformat()
        output = os.path.join(repo, "bench", "results", f"{bench}-{day}-{git_rev(repo)}.txt")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    sys.stdout = Tee(sys.stdout, output)
    return output
