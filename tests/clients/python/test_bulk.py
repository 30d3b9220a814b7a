"""FHIR Bulk Data `$export` as a population-health or evaluation client runs it: kick-off with
`Prefer: respond-async`, status polling, NDJSON files fetched with the same token. Neither fhirpy
nor fhirclient has a Bulk Data idiom, so the exchanges are plain `requests` calls; every response
(each NDJSON line included) still goes through the strict R4 validator's hook.

- A GP practice's export of care plans holds exactly what its fhirpy search finds.
- The deployment's evaluation system defines an extract cohort as a `Group` (created with fhirpy)
  and exports the evaluators' de-identified HNA extract: pseudonymised, joined by pseudonyms, and
  without the people's NHS numbers or names."""

import json
import time

import requests

import conftest
from payloads import CANON, NHS

COHORT = f"{CANON}/CodeSystem/evaluation-cohort"


def bulk_export(token: str, url: str) -> dict:
    """Runs the export kicked off at `url`; the resources of each type."""
    auth = {"Authorization": f"Bearer {token}"}
    kick = requests.get(
        url,
        headers={**auth, "Prefer": "respond-async", "Accept": "application/fhir+json"},
        timeout=60,
        **conftest.validated(),
    )
    assert kick.status_code == 202, kick.text
    status = kick.headers["Content-Location"]
    for _ in range(600):
        poll = requests.get(status, headers=auth, timeout=60, **conftest.validated())
        if poll.status_code == 200:
            break
        assert poll.status_code == 202, poll.text
        time.sleep(min(float(poll.headers.get("Retry-After", "1")), 0.1))
    else:
        raise AssertionError("the export did not finish")
    manifest = poll.json()
    assert manifest["requiresAccessToken"] is True
    out: dict = {}
    for item in manifest["output"]:
        file = requests.get(item["url"], headers=auth, timeout=60, **conftest.validated())
        assert file.status_code == 200
        assert file.headers["Content-Type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in file.text.splitlines() if line.strip()]
        assert len(lines) == item["count"]
        out.setdefault(item["type"], []).extend(lines)
    return out


def test_a_practice_exports_exactly_what_it_finds(token, base, as_role):
    exported = bulk_export(token("GP"), f"{base}/$export?_type=CarePlan")
    found = as_role("GP").resources("CarePlan").fetch_all()
    assert found, "the practice shares plans in the sample world"
    assert sorted(p["id"] for p in exported.get("CarePlan", [])) == sorted(p.id for p in found)


def test_the_evaluators_extract_is_pseudonymised_and_joined(token, base, world):
    system = conftest.fhir_client(token("SYSTEM"))
    link = world.orgs["L0001"]
    group = system.resource(
        "Group",
        type="person",
        actual=False,
        name="Link service evaluation 2026",
        code={"coding": [{"system": COHORT, "code": "hna-extract"}]},
        characteristic=[
            {
                "code": {"coding": [{"system": COHORT, "code": "hna-author"}]},
                "valueReference": {"reference": f"Organization/{link.id}"},
                "exclude": False,
                "period": {"start": "2026-01-01", "end": "2026-12-31"},
            }
        ],
    )
    group.save()
    extract = bulk_export(token("SYSTEM"), f"{base}/Group/{group.id}/$export")
    hnas, patients = extract["QuestionnaireResponse"], extract["Patient"]
    assert hnas and patients and extract.get("CarePlan")
    pseudonyms = {f"Patient/{p['id']}" for p in patients}
    assert {h["subject"]["reference"] for h in hnas} <= pseudonyms
    assert all(r["meta"]["security"][0]["code"] == "PSEUDED" for r in hnas + patients)
    text = repr(extract)
    for name in ("Ann", "Bob", "Cara"):
        assert world.nhs(name) not in text
        assert world.patients[name].id not in text
        assert name not in text
    assert NHS not in text
