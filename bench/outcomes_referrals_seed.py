#!/usr/bin/env python3
"""Seeds referrals for bench/outcomes_referrals.sh through the FHIR API, as clients write them.

    python3 bench/outcomes_referrals_seed.py BASE_URL TOKEN REFERRALS OTHERS THREADS

Organisations: the measured service (ODS REF01, type community), an idle one (ODS REF02: the
report's fixed cost), 20 GP practices, 5 nurse teams and 15 onward services (housing, welfare,
psychological support). REFERRALS referrals involve REF01 (60% received from a practice or nurse
team, 40% made by it to an onward service); OTHERS more go between the others, so the store holds
more than the population. Each referral is a ServiceRequest (status active) and its fulfilment Task
(requested) in one transaction entry pair; then the Tasks move along in rounds of batch updates
(requested -> received/accepted -> in-progress -> completed, or rejected, cancelled, failed, on hold),
so most Tasks have three or four versions. authoredOn is spread over 2026; 0-3 catalogue concerns.
"""

import concurrent.futures as cf
import json
import random
import sys
import time
import urllib.request

sys.path.insert(0, "bench")
import fixtures as fx  # noqa: E402

C = "https://fhir.carebridge.uk"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
CONCERNS = [l.split(",")[0] for l in open("profiles/source/concerns.csv").read().splitlines()[1:] if l]
# (weight, status steps after `requested`)
PATHS = [
    (10, []),
    (5, ["received"]),
    (5, ["accepted"]),
    (10, ["accepted", "in-progress"]),
    (45, ["accepted", "in-progress", "completed"]),
    (10, ["rejected"]),
    (5, ["cancelled"]),
    (5, ["accepted", "in-progress", "failed"]),
    (5, ["received", "accepted", "in-progress", "on-hold"]),
]
PER_BUNDLE = 50

base, token, wanted, others, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
HDR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json", "Authorization": "Bearer " + token}


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body, separators=(",", ":")).encode(), method="POST", headers=HDR)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: HTTP {e.code}: {e.read().decode()[:3000]}")


def org(name, kind, ods=None):
    o = {"resourceType": "Organization", "name": name,
         "type": [{"coding": [{"system": f"{C}/CodeSystem/referral-destination", "code": kind}]}]}
    if ods:
        o["identifier"] = [{"system": ODS, "value": ods}]
    return post(f"{base}/Organization", o)["id"]


service = org("Link-worker service", "community", "REF01")
org("Idle service", "community", "REF02")
sources = [org(f"Practice {i}", "gp") for i in range(20)] + [org(f"Nurses {i}", "cns") for i in range(5)]
onward = [org(f"{k} {i}", k) for k in ("housing", "welfare-benefits", "psychological-support") for i in range(5)]

rng = random.Random(11)
nhs = fx.valid_nhs_numbers(500_000)
people = []
for start in range(0, max(1, (wanted + others) // 3), 250):
    n = min(250, (wanted + others) // 3 - start)
    entries = [fx.entry(fx.urn(), fx.patient(rng, next(nhs))) for _ in range(n)]
    people += [e["response"]["location"].split("/")[1] for e in post(base, fx.transaction(entries))["entry"]]


def referral(i):
    if i < wanted:
        frm, to = (rng.choice(sources), service) if rng.random() < 0.6 else (service, rng.choice(onward))
    else:
        frm, to = rng.choice(sources), rng.choice(onward)
    day = rng.randint(0, 364)
    authored = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1767225600 + 86400 * day + rng.randint(28800, 64800)))
    patient = rng.choice(people)
    sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "routine",
          "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
          "code": {"text": "Referral for support"}, "subject": {"reference": f"Patient/{patient}"},
          "authoredOn": authored, "requester": {"reference": f"Organization/{frm}"},
          "performer": [{"reference": f"Organization/{to}"}]}
    concerns = rng.sample(CONCERNS, rng.choice([0, 1, 1, 2, 3]))
    if concerns:
        sr["reasonCode"] = [{"coding": [{"system": f"{C}/CodeSystem/hna-concern", "code": c}]} for c in concerns]
    task = {"resourceType": "Task", "status": "requested", "intent": "order", "priority": "routine",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "for": {"reference": f"Patient/{patient}"}, "authoredOn": authored,
            "requester": {"reference": f"Organization/{frm}"}, "owner": {"reference": f"Organization/{to}"}}
    steps = rng.choices([p for _, p in PATHS], weights=[w for w, _ in PATHS])[0]
    return sr, task, steps


def run(bundles):
    done = []
    with cf.ThreadPoolExecutor(max_workers=threads) as pool:
        for r in pool.map(lambda b: post(base, b), bundles):
            done.append(r)
    return done


started = time.monotonic()
made = [referral(i) for i in range(wanted + others)]
bundles = []
for start in range(0, len(made), PER_BUNDLE):
    entries = []
    for sr, task, _ in made[start:start + PER_BUNDLE]:
        sr_urn = fx.urn()
        task["focus"] = {"reference": sr_urn}
        entries.append({"fullUrl": sr_urn, "resource": sr, "request": {"method": "POST", "url": "ServiceRequest"}})
        entries.append({"fullUrl": fx.urn(), "resource": task, "request": {"method": "POST", "url": "Task"}})
    bundles.append({"resourceType": "Bundle", "type": "transaction", "entry": entries})
tasks = []
for b, r in zip(bundles, run(bundles)):
    for k in range(0, len(r["entry"]), 2):
        sr_id = r["entry"][k]["response"]["location"].split("/")[1]
        task_id = r["entry"][k + 1]["response"]["location"].split("/")[1]
        tasks.append((sr_id, task_id))
updates = 0
for round_ in range(max(len(p) for _, p in PATHS)):
    puts = []
    for (sr, task, steps), (sr_id, task_id) in zip(made, tasks):
        if round_ < len(steps):
            body = dict(task, id=task_id, status=steps[round_], focus={"reference": f"ServiceRequest/{sr_id}"})
            if steps[round_] == "rejected":
                body["statusReason"] = {"text": "Outside our area"}
            puts.append({"resource": body, "request": {"method": "PUT", "url": f"Task/{task_id}"}})
    batches = [{"resourceType": "Bundle", "type": "batch", "entry": puts[i:i + 100]} for i in range(0, len(puts), 100)]
    for r in run(batches):
        bad = [e["response"]["status"] for e in r["entry"] if not e["response"]["status"].startswith("200")]
        if bad:
            sys.exit(f"seed: Task update refused: {bad[:3]}")
    updates += len(puts)
print(f"seeded {len(tasks)} referrals ({wanted} of REF01) with {updates} Task updates "
      f"in {time.monotonic() - started:.0f}s", flush=True)
