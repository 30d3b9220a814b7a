#!/usr/bin/env python3
"""The notification benchmark's receiver: a threaded HTTP server that checks each notification's
signature, and for every event in it records the delay from the change's write (the event's
`timestamp`) to its arrival here. `GET /stats` answers the counts and percentiles as JSON.

For the drain measurement, `POST /hold` makes it keep event notifications unanswered (the gateway
then has one request in flight per subscription while events pile up behind it) until
`POST /release`; `/stats` then also says how many events first arrived after the release and when
the last of them did.

    notify_receiver.py PORT SECRET
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, SECRET = int(sys.argv[1]), sys.argv[2].encode()
lock = threading.Lock()
delays_ms, seen, bad, handshakes = [], set(), [0], [0]
gate = threading.Event()
gate.set()
released = {"at_ms": None, "events": 0, "requests": 0, "last_ms": None}


def instant_ms(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


class Hook(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path in ("/hold", "/release"):
            if self.path == "/hold":
                gate.clear()
            else:
                released["at_ms"] = time.time() * 1000
                gate.set()
            self.send_response(204)
            self.end_headers()
            return
        gate.wait()
        arrived = time.time() * 1000
        want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if self.headers.get("X-Carebridge-Signature") != want:
            with lock:
                bad[0] += 1
            self.send_response(401)
            self.end_headers()
            return
        params = json.loads(body)["entry"][0]["resource"]["parameter"]
        subscription = next(p for p in params if p["name"] == "subscription")["valueReference"]["reference"]
        kind = next(p for p in params if p["name"] == "type")["valueCode"]
        with lock:
            if kind == "handshake":
                handshakes[0] += 1
            if released["at_ms"] is not None:
                released["requests"] += 1
            for p in params:
                if p["name"] != "notification-event":
                    continue
                parts = {x["name"]: x for x in p["part"]}
                key = (subscription, parts["event-number"]["valueString"])
                if key in seen:
                    continue
                seen.add(key)
                delays_ms.append(arrived - instant_ms(parts["timestamp"]["valueInstant"]))
                if released["at_ms"] is not None:
                    released["events"] += 1
                    released["last_ms"] = arrived
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        with lock:
            d = sorted(delays_ms)
            pick = lambda q: round(d[min(len(d) - 1, int(q * len(d)))], 1) if d else None
            stats = {"events": len(d), "bad_signatures": bad[0], "handshakes": handshakes[0],
                     "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(d[-1], 1) if d else None,
                     "drain": dict(released)}
        out = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


ThreadingHTTPServer(("127.0.0.1", PORT), Hook).serve_forever()
