#!/usr/bin/env python3
"""Seeds a consent benchmark world through the FHIR API and writes the paths to request.

    consent_seed.py BASE_URL TOKEN DATA_DIR [PRACTICES] [PATIENTS_PER_PRACTICE]

Per practice (ODS code P00001...): PATIENTS patients registered there and managed by one link
service, each with a PCSP-shaped plan shared with the GP (housing, fear and breathing activities,
the housing one assigned to a housing provider), a plan not shared with the GP, and for every
third patient a sharing Consent permitting the housing provider the practical domain. Writes
DATA_DIR/paths-read.txt (the shared plans of practice P00001: what its GP token reads) and
DATA_DIR/paths-search.txt (that GP's plan search).
"""
import json
import sys
import urllib.request

CANON = "https://fhir.carebridge.uk"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


def post(base, token, bundle):
    req = urllib.request.Request(
        base.rstrip("/") + "/",
        data=json.dumps(bundle).encode(),
        headers={"Content-Type": "application/fhir+json", "Authorization": "Bearer " + token,
                 "Prefer": "return=minimal"},
        method="POST")
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def ids_of(reply):
    return [e["response"]["location"].split("/")[1] for e in reply["entry"]]


def org(name, code):
    return {"resourceType": "Organization", "name": name, "identifier": [{"system": ODS, "value": code}]}


def activity(domain, concern, performer=None):
    d = {"extension": [{"url": CANON + "/StructureDefinition/concern-domain",
                        "valueCoding": {"system": CANON + "/CodeSystem/hna-domain", "code": domain}}],
         "reasonCode": [{"coding": [{"system": CANON + "/CodeSystem/hna-concern", "code": concern}]}],
         "status": "not-started"}
    if performer:
        d["performer"] = [{"reference": "Organization/" + performer}]
    return {"detail": d}


def plan(patient, shared, housing):
    return {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/" + patient},
            "extension": [{"url": CANON + "/StructureDefinition/pcsp-shared-with",
                           "valueCode": "gp" if shared else "cns"}],
            "description": "Distress 6/10",
            "activity": [activity("practical", "housing", housing),
                         activity("emotional", "worry-fear-anxiety", housing),
                         activity("physical", "breathing")]}


def consent(patient, housing):
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": "Patient/" + patient},
            "provision": {"type": "permit",
                          "actor": [{"role": {"coding": [{"system": CANON + "/CodeSystem/sharing-role",
                                                          "code": "housing"}]},
                                     "reference": {"reference": "Organization/" + housing}}],
                          "securityLabel": [{"system": CANON + "/CodeSystem/hna-domain", "code": "practical"}]}}


def batch(resources):
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]}


def main():
    base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    practices = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    per = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    link, housing = ids_of(post(base, token, batch([org("Link service", "L0001"), org("Housing", "H0001")])))
    read_paths = []
    for p in range(1, practices + 1):
        (practice,) = ids_of(post(base, token, batch([org("Practice %d" % p, "P%05d" % p)])))
        patients = ids_of(post(base, token, batch([
            {"resourceType": "Patient", "name": [{"family": "P%d-%d" % (p, i)}],
             "generalPractitioner": [{"reference": "Organization/" + practice}],
             "managingOrganization": {"reference": "Organization/" + link}} for i in range(per)])))
        resources = []
        for i, pat in enumerate(patients):
            resources += [plan(pat, True, housing), plan(pat, False, housing)]
            if i % 3 == 0:
                resources.append(consent(pat, housing))
        made = ids_of(post(base, token, batch(resources)))
        if p == 1:
            kinds = [r["extension"][0]["valueCode"] if r["resourceType"] == "CarePlan" else None for r in resources]
            read_paths = ["/fhir/CarePlan/" + i for i, k in zip(made, kinds) if k == "gp"]
    with open(out + "/paths-read.txt", "w") as f:
        f.write("\n".join(read_paths) + "\n")
    with open(out + "/paths-search.txt", "w") as f:
        f.write("/fhir/CarePlan?status=active&_count=20\n")
    with open(out + "/paths-healthz.txt", "w") as f:
        f.write("/healthz\n")
    print("seeded %d practices x %d patients; %d readable plans" % (practices, per, len(read_paths)))


if __name__ == "__main__":
    main()
