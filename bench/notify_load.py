#!/usr/bin/env python3
"""The notification benchmark's subscribers and load.

    notify_load.py subscribe BASE DATA_DIR RECEIVER_URL SECRET
        one Subscription (referral-addressed, id-only) per pooled receiver, each with its own
        token (DATA_DIR/tokens.txt), to RECEIVER_URL; waits until all are active.
    notify_load.py load BASE DATA_DIR RATE SECONDS
        posts referral transactions (a ServiceRequest and its Task: two changes, each one event
        for the receiver's subscription) as the hospital at RATE a second for SECONDS, to random
        pooled receivers; prints how many were committed.
"""
import json
import random
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

CANON = "https://fhir.carebridge.uk"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


def call(method, url, token, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/fhir+json",
                                          "Authorization": "Bearer " + token,
                                          "Prefer": "return=minimal"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()[:500]


def subscribe(base, d, receiver, secret):
    tokens = dict(line.split() for line in open(d + "/tokens.txt"))
    pool = [line.split() for line in open(d + "/receivers.txt") if line.split()[2] == "pool"]
    ids = []
    for code, _, _ in pool:
        s = {"resourceType": "Subscription", "status": "requested", "reason": "bench",
             "criteria": CANON + "/SubscriptionTopic/referral-addressed",
             "channel": {"type": "rest-hook", "endpoint": receiver + "/" + code,
                         "payload": "application/fhir+json",
                         "extension": [{"url": "https://fhir.carebridge.uk/StructureDefinition/subscription-signing-secret",
                                        "valueString": secret}]}}
        status, body = call("POST", base + "/Subscription", tokens[code], s)
        if status != 201:
            raise SystemExit("subscription refused: %s %s" % (status, body))
        ids.append((code, status))
    deadline = time.time() + 60
    while time.time() < deadline:
        status, bundle = call("GET", base + "/Subscription?status=active&_summary=count",
                              open(d + "/system.txt").read().strip())
        if status == 200 and bundle.get("total", 0) >= len(pool):
            print("%d subscriptions active" % len(pool))
            return
        time.sleep(0.5)
    raise SystemExit("subscriptions not active in time")


def load(base, d, rate, seconds):
    hospital = open(d + "/hospital-token.txt").read().strip()
    hospital_id = open(d + "/hospital.txt").read().strip()
    patients = [p for p in open(d + "/patients.txt").read().split() if p]
    pool = [line.split()[1] for line in open(d + "/receivers.txt") if line.split()[2] == "pool"]
    rng = random.Random(7)

    def one(_):
        p, r = rng.choice(patients), rng.choice(pool)
        subject = {"reference": "Patient/" + p}
        org = lambda i: {"reference": "Organization/" + i}
        sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
              "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
              "subject": subject, "authoredOn": "2026-12-03T09:00:00Z", "requester": org(hospital_id),
              "performer": [org(r)],
              "reasonCode": [{"coding": [{"system": CANON + "/CodeSystem/hna-concern", "code": "housing"}]}]}
        task = {"resourceType": "Task", "status": "requested", "intent": "order",
                "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
                "focus": {"reference": "urn:uuid:6f1c1e2a-0000-4000-8000-000000000001"}, "for": subject,
                "requester": org(hospital_id), "owner": org(r)}
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:6f1c1e2a-0000-4000-8000-000000000001", "resource": sr,
             "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": task, "request": {"method": "POST", "url": "Task"}}]}
        status, _ = call("POST", base, hospital, bundle)
        return status == 200

    start, done, futures = time.time(), 0, []
    with ThreadPoolExecutor(max_workers=16) as pool_:
        for n in range(int(rate * seconds)):
            wait = start + n / rate - time.time()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool_.submit(one, n))
        done = sum(1 for f in futures if f.result())
    print(json.dumps({"transactions": done, "changes": 2 * done,
                      "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    if sys.argv[1] == "subscribe":
        subscribe(*sys.argv[2:6])
    else:
        load(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
