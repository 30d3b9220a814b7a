#!/usr/bin/env python3
"""Seeds the referral benchmark world through the FHIR API and writes the requests to make.

    referral_seed.py BASE_URL SYSTEM_TOKEN DATA_DIR PATIENTS POOL_RECEIVERS WORKLIST_RECEIVERS

One hospital (CNS team, ODS RH0001) and housing providers (ODS H00001...). Every patient has a
care team with the hospital and a Consent permitting housing providers the practical domain, and
five referrals from the hospital to five different housing providers (concern: housing), each
with its fulfilment Task, written in transaction Bundles as the system. The first 70% of patients'
referrals go to the POOL receivers and stay `requested` (the Task-update benchmark accepts them);
the rest go to the WORKLIST receivers, whose Tasks are all accepted but one in ten (so each
worklist holds a tenth of its receiver's Tasks). Writes to DATA_DIR:
  receivers.txt       "<ODS code> <Organization id> pool|worklist" per receiver (tokens are minted
                      by the shell);
  tasks-pool.tsv      "<ODS>\t<Task id>\t<Task JSON>" of every pooled (requested) Task;
  patients.txt        the ids of the hospital's patients (for referral posts);
  hospital.txt        the hospital's Organization id.
"""
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

CANON = "https://fhir.carebridge.uk"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
PER_BUNDLE = 20


def post(base, token, bundle):
    req = urllib.request.Request(
        base.rstrip("/") + "/", data=json.dumps(bundle).encode(),
        headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer " + token,
                 "Prefer": "return=minimal"}, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise SystemExit("%s %s: %s" % (e.code, e.reason, e.read().decode()[:1000]))


def ref(t, i):
    return {"reference": "%s/%s" % (t, i)}


def org(name, code):
    return {"resourceType": "Organization", "name": name, "identifier": [{"system": ODS, "value": code}]}


def referral(patient, hospital, receiver):
    return {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
            "code": {"text": "Help with housing"},
            "subject": patient, "authoredOn": "2026-12-01T09:00:00Z",
            "requester": ref("Organization", hospital), "performer": [ref("Organization", receiver)],
            "reasonCode": [{"coding": [{"system": CANON + "/CodeSystem/hna-concern", "code": "housing"}]}],
            "note": [{"text": "Ground floor needed"}]}


def task(patient, hospital, receiver, focus):
    return {"resourceType": "Task", "status": "requested", "intent": "order",
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": focus}, "for": patient, "authoredOn": "2026-12-01T09:00:00Z",
            "requester": ref("Organization", hospital), "owner": ref("Organization", receiver)}


def consent(patient):
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": patient,
            "provision": {"type": "permit",
                          "actor": [{"role": {"coding": [{"system": CANON + "/CodeSystem/sharing-role",
                                                          "code": "housing"}]},
                                     "reference": {"display": "any housing provider"}}],
                          "securityLabel": [{"system": CANON + "/CodeSystem/hna-domain", "code": "practical"}]}}


def patients_bundle(first, patient_ids, hospital, receivers_of):
    """A transaction giving the patients numbered from `first` (already written, `patient_ids`)
    their care team, consent, and referrals with Tasks."""
    entries, tasks = [], []
    for n, pid in enumerate(patient_ids, start=first):
        patient = ref("Patient", pid)
        entries.append({"resource": {"resourceType": "CareTeam", "status": "active", "subject": patient,
                                     "participant": [{"member": ref("Organization", hospital)}]},
                        "request": {"method": "POST", "url": "CareTeam"}})
        entries.append({"resource": consent(patient), "request": {"method": "POST", "url": "Consent"}})
        for k, (code, receiver) in enumerate(receivers_of(n)):
            sr_url = "urn:uuid:10000000-0000-4000-8%03d-%012d" % (k, n)
            entries.append({"fullUrl": sr_url, "resource": referral(patient, hospital, receiver),
                            "request": {"method": "POST", "url": "ServiceRequest"}})
            entries.append({"resource": task(patient, hospital, receiver, sr_url),
                            "request": {"method": "POST", "url": "Task"}})
            tasks.append((len(entries) - 1, code, n))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}, tasks


def main():
    base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    patients, n_pool, n_work = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    orgs = [org("City Hospital", "RH0001")]
    codes = ["H%05d" % i for i in range(1, n_pool + n_work + 1)]
    orgs += [org("Housing %s" % c, c) for c in codes]
    made = post(base, token, {"resourceType": "Bundle", "type": "transaction",
                              "entry": [{"resource": o, "request": {"method": "POST", "url": "Organization"}} for o in orgs]})
    ids = [e["response"]["location"].split("/")[1] for e in made["entry"]]
    hospital, receivers = ids[0], list(zip(codes, ids[1:]))
    pool, work = receivers[:n_pool], receivers[n_pool:]
    pooled = int(patients * 0.7)

    def receivers_of(n):
        group, at = (pool, n) if n < pooled else (work, n - pooled)
        return [group[(at * 5 + k) % len(group)] for k in range(5)]

    jobs = [(first, min(PER_BUNDLE, patients - first)) for first in range(0, patients, PER_BUNDLE)]

    def run(job):
        first, count = job
        people = post(base, token, {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "name": [{"family": "R%d" % n}]},
             "request": {"method": "POST", "url": "Patient"}} for n in range(first, first + count)]})
        patient_ids = [e["response"]["location"].split("/")[1] for e in people["entry"]]
        bundle, tasks = patients_bundle(first, patient_ids, hospital, receivers_of)
        reply = post(base, token, bundle)
        locs = [e["response"]["location"] for e in reply["entry"]]
        written = []
        for index, code, n in tasks:
            # The stored Task as its owner will send it back: its focus resolved.
            t = dict(bundle["entry"][index]["resource"], id=locs[index].split("/")[1],
                     focus=ref("ServiceRequest", locs[index - 1].split("/")[1]))
            written.append((code, t["id"], n, t))
        return patient_ids, written

    all_patients, pool_tasks, work_tasks = [], [], []
    with ThreadPoolExecutor(max_workers=4) as ex:
        for patient_ids, written in ex.map(run, jobs):
            all_patients += patient_ids
            for code, tid, n, t in written:
                (pool_tasks if n < pooled else work_tasks).append((code, tid, t))
    # Worklist receivers: all but one Task in ten accepted (batches of PUTs with If-Match).
    to_accept = [t for i, t in enumerate(work_tasks) if i % 10 != 0]

    def accept(chunk):
        entries = []
        for _, tid, t in chunk:
            entries.append({"resource": dict(t, status="accepted"),
                            "request": {"method": "PUT", "url": "Task/" + tid, "ifMatch": 'W/"1"'}})
        reply = post(base, token, {"resourceType": "Bundle", "type": "batch", "entry": entries})
        bad = [e["response"]["status"] for e in reply["entry"] if not e["response"]["status"].startswith("200")]
        if bad:
            raise SystemExit("accepting seeded Tasks failed: %s" % bad[:3])

    with ThreadPoolExecutor(max_workers=4) as ex:
        list(ex.map(accept, [to_accept[i:i + 200] for i in range(0, len(to_accept), 200)]))
    with open(out + "/receivers.txt", "w") as f:
        for code, oid in pool:
            f.write("%s %s pool\n" % (code, oid))
        for code, oid in work:
            f.write("%s %s worklist\n" % (code, oid))
    with open(out + "/tasks-pool.tsv", "w") as f:
        for code, tid, t in pool_tasks:
            f.write("%s\t%s\t%s\n" % (code, tid, json.dumps(dict(t, status="accepted"), separators=(",", ":"))))
    with open(out + "/patients.txt", "w") as f:
        f.write("\n".join(all_patients) + "\n")
    with open(out + "/hospital.txt", "w") as f:
        f.write(hospital + "\n")
    print("seeded %d patients, %d Tasks (%d pooled, %d on worklists, %d open there)" % (
        patients, len(pool_tasks) + len(work_tasks), len(pool_tasks), len(work_tasks),
        len(work_tasks) - len(to_accept)))


if __name__ == "__main__":
    main()
