#!/usr/bin/env python3
"""FHIR R4 resource builders shared by the seeder and the wrk scenarios (python3 stdlib only).

Run as a script, it writes the request bodies the wrk scenarios POST:

    python3 bench/fixtures.py DIR     # writes DIR/patient.json and DIR/hna-bundle.json

Every resource here uses only elements defined by FHIR R4 (the server rejects unknown elements).
"""

import json
import os
import random
import sys
import uuid

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# A valid (Modulus 11) NHS number reserved for testing; the create/bundle scenarios may reuse it.
FIXED_NHS_NUMBER = "9434765919"

FAMILY = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
          "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall"]
GIVEN = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Oliver", "George", "Noah", "Arthur",
         "Harry", "Leo", "Muhammad", "Jack", "Charlie", "Oscar", "Margaret", "David", "Susan", "John"]
CONCERNS = ["Fatigue", "Pain", "Sleep", "Worry, fear or anxiety", "Eating or appetite", "Breathing",
            "Money or housing", "Work or education", "Memory or concentration", "Getting around",
            "Caring responsibilities", "Loneliness or isolation", "Sore or dry mouth", "Nausea"]
ACTIONS = ["Refer to", "Discuss with", "Signpost to", "Review with", "Provide leaflet on"]
SERVICES = ["clinical nurse specialist", "dietitian", "physiotherapy", "Macmillan benefits advice",
            "psychological support", "palliative care team", "GP", "occupational therapy"]


def nhs_check_digit(nine: str):
    """Modulus 11 check digit for nine digits, or None when the number can't be valid."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def valid_nhs_numbers(start: int = 0):
    """Yields distinct valid NHS numbers 999xxxxxxC in increasing order."""
    stem = 999_000_000 + start
    while stem <= 999_999_999:
        check = nhs_check_digit(str(stem))
        if check is not None:
            yield f"{stem}{check}"
        stem += 1


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(rng: random.Random, nhs=None) -> dict:
    res = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"use": "official", "family": rng.choice(FAMILY), "given": [rng.choice(GIVEN)]}],
        "gender": rng.choice(["female", "male"]),
        "birthDate": f"{rng.randint(1935, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }
    if nhs:
        res["identifier"] = [{"system": NHS_SYSTEM, "value": nhs}]
    return res


def authored(rng: random.Random) -> str:
    return (f"{rng.randint(2022, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            f"T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00Z")


def _catalogue():
    """(code, domain) of every concern, in catalogue order (profiles/source/concerns.csv)."""
    import csv
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "profiles", "source", "concerns.csv")
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["code"], row["domain"]) for row in csv.DictReader(f)]


CATALOGUE = _catalogue()
HNA_CANONICAL = "https://fhir.carebridge.uk/Questionnaire/hna"
PATHWAY_SYSTEM = "https://fhir.carebridge.uk/CodeSystem/hna-point-of-pathway"


def questionnaire_response(rng: random.Random, subject: str, items: int) -> dict:
    """A completed HNA per the contract in src/hna/mod.rs: the first `items` concerns of the
    catalogue scored 0-10 inside their domain groups, the Distress Thermometer and the point of
    pathway, answering the HNA Questionnaire the gateway installs (so it is validated against it)."""
    groups = {}
    for code, domain in CATALOGUE[:items]:
        groups.setdefault(domain, []).append({"linkId": code, "answer": [{"valueInteger": rng.randint(0, 10)}]})
    item = [{"linkId": domain, "item": concerns} for domain, concerns in groups.items()]
    item.append({"linkId": "distress-thermometer", "answer": [{"valueInteger": rng.randint(0, 10)}]})
    item.append({"linkId": "point-of-pathway", "answer": [{"valueCoding": {
        "system": PATHWAY_SYSTEM, "code": rng.choice(["diagnosis", "start-of-treatment", "end-of-treatment"])}}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": HNA_CANONICAL,
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored(rng),
        "item": item,
    }


def care_plan(rng: random.Random, subject: str, hna: str, activities: int) -> dict:
    """An active care plan for `subject` with `activities` scheduled actions, citing the HNA `hna`."""
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": {"reference": subject},
        "supportingInfo": [{"reference": hna}],
        "activity": [{"detail": {
            "status": "scheduled",
            "description": f"{rng.choice(CONCERNS)}: {rng.choice(ACTIONS)} {rng.choice(SERVICES)}",
        }} for _ in range(activities)],
    }


def entry(full_url: str, resource: dict) -> dict:
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]}}


def transaction(entries: list) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def hna_bundle(rng: random.Random, qr_items: int = 50, activities: int = 10, nhs=FIXED_NHS_NUMBER) -> dict:
    """One HNA as a transaction: a Patient, its 50-item QuestionnaireResponse and a 10-activity
    CarePlan citing it, all linked by urn:uuid fullUrls."""
    p, q, c = urn(), urn(), urn()
    return transaction([
        entry(p, patient(rng, nhs)),
        entry(q, questionnaire_response(rng, p, qr_items)),
        entry(c, care_plan(rng, p, q, activities)),
    ])


def main(argv):
    if len(argv) != 2:
        print("usage: fixtures.py OUTDIR", file=sys.stderr)
        return 2
    out = argv[1]
    rng = random.Random(42)
    with open(f"{out}/patient.json", "w") as f:
        json.dump(patient(rng, FIXED_NHS_NUMBER), f, separators=(",", ":"))
    with open(f"{out}/hna-bundle.json", "w") as f:
        json.dump(hna_bundle(rng), f, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
