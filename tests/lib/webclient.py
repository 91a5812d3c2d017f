"""A minimal Server-Sent Events client over a raw socket (what EventSource does),
for the web endpoint's tests: it sees exactly the bytes a browser would."""
import json
import socket
import time


class Sse:
    def __init__(self, port, path="/events", headers=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1", "Accept: text/event-stream"]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.status, self.headers = self._read_head()
        self.chunked = self.headers.get("transfer-encoding", "") == "chunked"
        self.body = b""
        self.events = []  # dicts: id, event, data (parsed JSON or text)

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError("closed before the headers")
            self.buf += got
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        return status, headers

    def _dechunk(self):
        while True:
            if b"\r\n" not in self.buf:
                return
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.buf = rest[size + 2:]

    def _parse(self):
        while b"\n\n" in self.body:
            block, self.body = self.body.split(b"\n\n", 1)
            ev = {}
            for line in block.decode().split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                ev[k] = v[1:] if v.startswith(" ") else v
            if "data" in ev:
                try:
                    ev["data"] = json.loads(ev["data"])
                except ValueError:
                    pass
                self.events.append(ev)

    def read(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                got = self.sock.recv(65536)
            except socket.timeout:
                break
            if not got:
                break
            self.buf += got
            if self.chunked:
                self._dechunk()
            else:
                self.body += self.buf
                self.buf = b""
            self._parse()
        return self.events

    def wait(self, pred, timeout=10.0, what="event"):
        end = time.time() + timeout
        while time.time() < end:
            for ev in self.events:
                if pred(ev):
                    return ev
            self.read(0.2)
        raise AssertionError("no %s on the SSE stream within %.1fs; got %s" %
                             (what, timeout, [e.get("event") for e in self.events[-10:]]))

    def close(self):
        self.sock.close()


def http(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on its own connection: (status, headers, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = body.encode() if isinstance(body, str) else (body or b"")
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1", "Connection: close",
             "Content-Length: %d" % len(data)]
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    out = b""
    while True:
        got = s.recv(65536)
        if not got:
            break
        out += got
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    hl = head.decode().split("\r\n")
    hdrs = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in hl[1:])}
    if hdrs.get("transfer-encoding") == "chunked":
        body_out = b""
        while rest:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            body_out += rest[:size]
            rest = rest[size + 2:]
        rest = body_out
    return int(hl[0].split()[1]), hdrs, rest
