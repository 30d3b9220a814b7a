#!/usr/bin/env python3
"""An OTLP/HTTP receiver for benchmarks: reads each export and answers 200, counting exports, bytes
and spans (by their "spanId" keys, without parsing: the sink shares the gateway's cores, so it must
cost little). `GET /stats` answers {"exports": n, "bytes": n, "spans": n}.

    otlp_sink.py PORT
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock, stats = threading.Lock(), {"exports": 0, "bytes": 0, "spans": 0}


class Sink(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n = body.count(b'"spanId"')
        with lock:
            stats["exports"] += 1
            stats["bytes"] += len(body)
            stats["spans"] += n
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        with lock:
            out = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
