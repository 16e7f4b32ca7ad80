#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the S3 tests.

s3fault.py PORT UPSTREAM RULES: listens on loopback PORT (touching PORT.ready when listening) and
forwards every request to UPSTREAM, except that, counting requests from 1, request k:
  503@N   answers 503 SlowDown when k % N == 0, without forwarding
  drop@N  reads the request and closes the connection without answering, when k % N == 0
  lost@N  forwards the request, then closes the connection without the answer, when k % N == 0
  deny    answers 403 AccessDenied to everything
  delay@S@TEXT  holds a PUT whose path holds TEXT for S seconds before forwarding it
  nocond  forwards every request without its If-Match and If-None-Match headers: a server
          that ignores conditional writes
  notimpl@TEXT  answers 501 NotImplemented to every request whose path holds TEXT
RULES is a comma-separated list, checked in order; the first that fires wins.
"""
import http.client
import http.server
import socket
import sys
import threading
import time
import urllib.parse

port, upstream, rules = int(sys.argv[1]), sys.argv[2], sys.argv[3]
up = urllib.parse.urlparse(upstream)
count = 0
lock = threading.Lock()
rules = [r for r in rules.split(",") if r]


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def fault(self, k):
        for r in rules:
            if r == "deny":
                return "deny"
            if r == "nocond" or r.startswith("delay@") or r.startswith("notimpl@"):
                continue
            name, _, n = r.partition("@")
            if n and k % int(n) == 0:
                return name
        return None

    def handle_any(self):
        global count
        with lock:
            count += 1
            k = count
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        f = self.fault(k)
        for r in rules:
            if r.startswith("delay@") and self.command == "PUT":
                _, sec, text = r.split("@", 2)
                if text in self.path:
                    time.sleep(float(sec))
        if any(r.startswith("notimpl@") and r.split("@", 1)[1] in self.path for r in rules):
            f = "notimpl"
        if f in ("503", "deny", "notimpl"):
            code, text = {"503": (503, b"<Error><Code>SlowDown</Code></Error>"),
                          "deny": (403, b"<Error><Code>AccessDenied</Code></Error>"),
                          "notimpl": (501, b"<Error><Code>NotImplemented</Code></Error>")}[f]
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(text)
            return
        if f == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        c = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        drop = ("connection", "if-match", "if-none-match") if "nocond" in rules else ("connection",)
        headers = {h: v for h, v in self.headers.items() if h.lower() not in drop}
        c.request(self.command, self.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        if f == "lost":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(r.status)
        for h, v in r.getheaders():
            if h.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(h, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
print("listening", flush=True)
srv.serve_forever()
