"""A fault-injecting HTTP proxy in front of the local S3 server: it forwards every request as it is
(the Host header too, so SigV4 signatures stay valid) and answers chosen PUTs with S3's
500 InternalError without forwarding them, so the server never sees those uploads.

`fail_put(pattern, nth)`: the `nth` distinct object key (1-based) whose path matches `pattern`
fails, and so does every retry of that key (the AWS SDK retries a 500), until `disarm()`. Each
refused attempt is recorded in `failed` as (S3 operation, key): the proof of which PUT failed.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from gdx.kafka_local import free_port

_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>injected by the test proxy</Message></Error>"
)
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


@dataclass
class FaultProxy:
    upstream_port: int
    port: int = field(default_factory=free_port)
    pattern: re.Pattern[str] | None = None
    nth: int = 1
    seen_keys: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(S3 operation, /bucket/key) of every refused attempt."""
    forwarded_puts: list[str] = field(default_factory=list)
    _target: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_put(self, pattern: str, nth: int = 1) -> None:
        with self._lock:
            self.pattern, self.nth, self._target = re.compile(pattern), nth, None
            self.seen_keys.clear()

    def disarm(self) -> None:
        with self._lock:
            self.pattern = self._target = None

    def _should_fail(self, key: str) -> bool:
        with self._lock:
            if self.pattern is None or not self.pattern.search(key):
                return False
            if self._target is None:
                if key not in self.seen_keys:
                    self.seen_keys.append(key)
                if len(self.seen_keys) == self.nth:
                    self._target = key
            return key == self._target

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _handle(self) -> None:
                body = self._body()
                url = urlsplit(self.path)
                key = unquote(url.path)
                if self.command == "PUT" and proxy._should_fail(key):
                    # pyarrow uploads as multipart (UploadPart, query partNumber=…); the ledger entry is one
                    # conditional PutObject (boto3)
                    operation = "UploadPart" if "partNumber=" in url.query else "PutObject"
                    with proxy._lock:
                        proxy.failed.append((operation, key))
                    self.send_response(500)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_ERROR)))
                    self.end_headers()
                    self.wfile.write(_ERROR)
                    return
                if self.command == "PUT":
                    with proxy._lock:
                        proxy.forwarded_puts.append(key)
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    drop = _HOP | {"expect", "content-length"}
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
                    headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    self.send_header(
                        "Content-Length",
                        str(len(data)) if self.command != "HEAD" else resp.getheader("Content-Length", "0"),
                    )
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
