"""Helpers shared by the bench/ scripts that drive proxies: a stdout tee, a pinned server
process, raw-socket HTTP/1.1 GETs with exact bodies, and small file and limit helpers.

Process bookkeeping (spawn, stop, /proc readers) lives in web_server.py and is reused from there.
"""

import resource
import socket
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
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "-1"))
    if length < 0:
        raise ConnectionError("response without Content-Length")
    while len(buf) < length:
        chunk = sock.recv(max(65536, length - len(buf)))
        if not chunk:
            raise ConnectionError("connection closed inside the body")
        buf += chunk
    return status, headers, buf[:length], buf[length:]


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
