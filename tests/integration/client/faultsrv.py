#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A canned-reply envd/API server that misbehaves on demand, for libe2b's
# fault tests.  The behaviour is chosen by the sandbox id (E2b-Sandbox-Id
# header) or the management path.  Prints its port on stdout.
import base64
import datetime
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

hits = {}
lock = threading.Lock()
# Traffic JWTs (OpenKruise JWT sandboxes): the token each "jwt*" sandbox
# currently accepts, besides the one it was created with.
tokens = {}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(exp, iat=None):
    claims = {"exp": exp, "sub": "sb"}
    if iat is not None:
        claims["iat"] = iat
    return ".".join([b64url(b'{"alg":"HS256","typ":"JWT"}'),
                     b64url(json.dumps(claims).encode()), b64url(b"sig")])


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def env(obj, flags=0):
    d = json.dumps(obj).encode()
    return struct.pack(">BI", flags, len(d)) + d


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def count(self, key):
        with lock:
            hits[key] = hits.get(key, 0) + 1
            return hits[key]

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body=b"", ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def stream_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/connect+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def chunk_end(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def reset(self):
        # RST instead of FIN.
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_GET(self):
        sid = self.headers.get("E2b-Sandbox-Id", "")
        if self.path.startswith("/sandboxes/garbage"):
            return self.send(200, b"<html>not json</html>", "text/html")
        if self.path.startswith("/sandboxes/ratelimited"):
            if self.count("ratelimited") == 1:
                return self.send(429, b"slow down", "text/plain", [("Retry-After", "1")])
            return self.send(200, json.dumps({"sandboxID": "ratelimited", "templateID": "t",
                                              "state": "running"}).encode())
        if self.path.startswith("/sandboxes/flaky"):
            return self.send(503, b"", "text/plain", [("Retry-After", "0")])
        if self.path.startswith("/files"):
            if sid == "slowdl":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"x" * 1000)
                self.wfile.flush()
                time.sleep(20)
                return self.reset()
            if sid == "resetdl":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"x" * 1000)
                return self.reset()
        return self.send(404, b"{\"code\":404,\"message\":\"no such thing\"}")

    def jwt_connect(self, sid):
        # connect answer of a JWT sandbox; the token's lifetime is chosen
        # by the id so each case starts in the state it tests
        now = int(time.time())
        tok = {"jwtnear": jwt(now + 30, now), "jwtfresh": jwt(now + 3600, now),
               "jwt503": jwt(now + 30, now), "jwtexpired": jwt(now - 10),
               "jwtbad": jwt(now - 10), "jwtlazy": "",
               "jwtopaque": "opaque-token"}.get(sid, "")
        with lock:
            tokens[sid] = {tok}
        info = {"sandboxID": sid, "templateID": "t", "envdVersion": "0.6.0",
                "state": "running",
                "metadata": {"security.agents.kruise.io/enable-jwt-auth": "true"}}
        if tok:
            info["trafficAccessToken"] = tok
        return self.send(200, json.dumps(info).encode())

    def jwt_refresh(self, sid):
        n = self.count("refresh-" + sid)
        now = int(time.time())
        if sid == "jwt503" or (sid == "jwtexpired" and n == 1):
            return self.send(503, b"{\"code\":503,\"message\":\"busy\"}",
                             extra=[("Retry-After", "1")])
        exp = now + 3600
        tok = jwt(exp, now)
        with lock:
            tokens.setdefault(sid, set()).add(tok)
        if sid == "jwtbad":
            exp += 600      # expiration that contradicts the exp claim
        return self.send(200, json.dumps({"trafficAccessToken": tok,
                                          "trafficAccessTokenExpiration": rfc3339(exp)}).encode())

    def jwt_stat(self, sid):
        # the gateway's check: 403 unless the header carries a token we issued
        got = self.headers.get("e2b-traffic-access-token", "")
        stats = self.count("stat-" + sid)
        with lock:
            good = got in tokens.get(sid, set()) and got != ""
            refreshes = hits.get("refresh-" + sid, 0)
        if not good:
            return self.send(403, b"forbidden: invalid or missing traffic access token", "text/plain")
        name = "r%d-s%d" % (refreshes, stats)
        return self.send(200, json.dumps({"entry": {"name": name, "type": "FILE_TYPE_FILE"}}).encode())

    def do_POST(self):
        sid = self.headers.get("E2b-Sandbox-Id", "")
        self.body()
        p = self.path
        if p.startswith("/sandboxes/jwt") and p.endswith("/connect"):
            return self.jwt_connect(p.split("/")[2])
        if p.startswith("/sandboxes/jwt") and p.endswith("/traffic-access-token"):
            return self.jwt_refresh(p.split("/")[2])
        if sid.startswith("jwt") and p.endswith("/filesystem.Filesystem/Stat"):
            return self.jwt_stat(sid)
        if p.endswith("/filesystem.Filesystem/Stat"):
            if sid.startswith("retry503"):
                if self.count(sid) == 1:
                    return self.send(503, b"try later", "text/plain", [("Retry-After", "1")])
                return self.send(200, json.dumps({"entry": {"name": "x", "type": "FILE_TYPE_FILE",
                                                            "size": "3"}}).encode())
            if sid == "garbage":
                return self.send(200, b"this is not json", "application/json")
            if sid == "stallunary":
                time.sleep(10)
                return self.send(200, b"{}")
            if sid == "reset":
                return self.reset()
            if sid == "html502":
                return self.send(502, b"<html><h1>502 Bad Gateway</h1></html>", "text/html")
            return self.send(404, b"{\"code\":\"not_found\",\"message\":\"nope\"}")
        if p.endswith("/process.Process/Start") or p.endswith("/filesystem.Filesystem/WatchDir"):
            start = env({"event": {"start": {"pid": 7}}}) if "Start" in p else env({"start": {}})
            if sid == "notastream":
                return self.send(200, b"{}", "application/json")
            self.stream_start()
            self.chunk(start)
            if sid == "reset":
                self.chunk(env({"event": {"data": {"stdout": "aGkK"}}}))
                time.sleep(0.2)
                return self.reset()
            if sid == "truncated":
                e = env({"event": {"data": {"stdout": "aGkK"}}})
                self.chunk(e[:len(e) - 3])
                return self.chunk_end()
            if sid == "noend":
                self.chunk(env({"event": {"end": {"exited": True}}}))
                return self.chunk_end()
            if sid == "stall":
                time.sleep(30)
                return self.reset()
            if sid == "badflags":
                self.chunk(env({"event": {}}, 0x80))
                return self.chunk_end()
            if sid == "hugeframe":
                self.chunk(struct.pack(">BI", 0, 0xFFFFFFF0) + b"{")
                time.sleep(1)
                return self.chunk_end()
            if sid == "garbage":
                self.chunk(struct.pack(">BI", 0, 9) + b"not json!")
                return self.chunk_end()
            if sid == "enderror":
                self.chunk(env({"error": {"code": "resource_exhausted", "message": "too many"}}, 2))
                return self.chunk_end()
            if sid == "keepalive":
                # keepalives every 0.5 s keep a slow stream alive past the watchdog
                for _ in range(6):
                    time.sleep(0.5)
                    self.chunk(env({"event": {"keepalive": {}}}))
                self.chunk(env({"event": {"end": {"exitCode": 2, "status": "exit status 2"}}}))
                self.chunk(env({}, 2))
                return self.chunk_end()
            self.chunk(env({"event": {"end": {"exited": True}}}))
            self.chunk(env({}, 2))
            return self.chunk_end()
        return self.send(404, b"{\"code\":\"unimplemented\"}")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
