#!/usr/bin/env python3
"""Seeds the bulk export benchmark through the FHIR API.

    export_seed.py BASE_URL SYSTEM_TOKEN DATA_DIR PATIENTS HNAS_PER_PATIENT

One practice (ODS P00001) with PATIENTS registered patients, each with HNAS_PER_PATIENT HNAs
(QuestionnaireResponses of five scored concerns); every tenth patient has a Consent denying GPs
everything, so the GP's export is consent-filtered. Writes DATA_DIR/hnas.tsv (each HNA's id and
body) for the PATCH / PUT scenarios.
"""
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

CANON = "https://fhir.carebridge.uk"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


def post(base, token, bundle):
    req = urllib.request.Request(
        base.rstrip("/") + "/", data=json.dumps(bundle).encode(),
        headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer " + token,
                 "Prefer": "return=minimal"}, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return [e["response"]["location"].split("/")[1] for e in json.load(r)["entry"]]
    except urllib.error.HTTPError as e:
        sys.exit("seeding failed: %s %s" % (e.code, e.read()[:2000].decode(errors="replace")))


def batch(resources):
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]}


def hna(patient, n):
    scores = [("emotional", "worry-fear-anxiety"), ("practical", "housing"), ("physical", "pain"),
              ("physical", "breathing"), ("family", "caring-responsibilities")]
    return {"resourceType": "QuestionnaireResponse", "status": "completed",
            "subject": {"reference": "Patient/" + patient},
            "authored": "2026-%02d-%02dT10:00:00Z" % (1 + n % 12, 1 + n % 28),
            "item": [{"linkId": d, "item": [{"linkId": c, "answer": [{"valueInteger": (n + i) % 11}]}]}
                     for i, (d, c) in enumerate(scores)]}


def deny_gp(patient):
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/" + patient},
            "provision": {"type": "deny", "actor": [{"role": {"coding": [
                {"system": CANON + "/CodeSystem/sharing-role", "code": "gp"}]},
                "reference": {"display": "any organisation in that role"}}]}}


def main():
    base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    patients, per = int(sys.argv[4]), int(sys.argv[5])
    (practice,) = post(base, token, batch([{"resourceType": "Organization", "name": "Practice",
                                            "identifier": [{"system": ODS, "value": "P00001"}]}]))
    ids = []
    for start in range(0, patients, 500):
        ids += post(base, token, batch([
            {"resourceType": "Patient", "name": [{"family": "P%d" % i}],
             "generalPractitioner": [{"reference": "Organization/" + practice}]}
            for i in range(start, min(patients, start + 500))]))
    chunks = []
    resources = []
    for i, p in enumerate(ids):
        resources += [hna(p, i * per + k) for k in range(per)]
        if i % 10 == 0:
            resources.append(deny_gp(p))
        if len(resources) >= 500:
            chunks.append(resources)
            resources = []
    if resources:
        chunks.append(resources)
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda c: post(base, token, batch(c)), chunks))
    with open(out + "/hnas.tsv", "w") as f:
        for chunk, chunk_ids in zip(chunks, made):
            for r, rid in zip(chunk, chunk_ids):
                if r["resourceType"] == "QuestionnaireResponse":
                    r["id"] = rid
                    f.write("%s\t%s\n" % (rid, json.dumps(r, separators=(",", ":"))))
    print("seeded %d patients, %d HNAs, %d GP denials" % (len(ids), len(ids) * per, (len(ids) + 9) // 10))


if __name__ == "__main__":
    main()
