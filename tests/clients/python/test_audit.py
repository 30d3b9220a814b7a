"""The auditor's search and export of the audit log, and Ann's access report: a GP practice reads
Ann's plan, and both find that read."""

import datetime
import itertools
import json

import pytest
import requests
from fhirpy.base.exceptions import OperationOutcome

import conftest
import fhir_strict


@pytest.fixture(scope="module")
def gp_read(as_role, world):
    """Riverside Surgery reads Ann's shared plan; returns the plan, with the auditor's count of
    the practice's reads of it before and after."""
    auditor = as_role("AUDITOR")
    plan = as_role("GP").resources("CarePlan").search(patient=world.patients["Ann"].id).first()

    def reads() -> int:
        filters = {"entity": f"CarePlan/{plan.id}", "agent_role": "gp", "organization": "A81001", "subtype": "read"}
        return auditor.resources("AuditEvent").search(_summary="count", **filters).fetch_raw()["total"]

    before = reads()
    as_role("GP").reference("CarePlan", plan.id).to_resource()  # GET CarePlan/<id>
    return {"plan": plan, "before": before, "after": reads()}


def test_auditor_counts_the_practices_read(gp_read):
    assert gp_read["after"] == gp_read["before"] + 1


def test_auditor_finds_who_read_what_and_why(as_role, gp_read):
    plan = gp_read["plan"]
    event = (
        as_role("AUDITOR")
        .resources("AuditEvent")
        .search(entity=f"CarePlan/{plan.id}", agent_role="gp", subtype="read")
        .sort("-date")
        .first()
    )
    assert event["action"] == "R" and event["outcome"] == "0"
    agent = event["agent"][0]
    roles = {c["code"] for r in agent["role"] for c in r["coding"]}
    assert {"gp", "A81001"} <= roles
    assert agent["purposeOfUse"][0]["coding"][0]["code"] == "TREAT"
    assert agent["who"]["identifier"]["value"] == "dev-gp", "the auditor sees who: the token subject"
    whats = [e["what"]["reference"] for e in event["entity"] if "what" in e]
    assert f"CarePlan/{plan.id}/_history/{plan['meta']['versionId']}" in whats


def test_auditor_summary_count_and_paging_agree(as_role, gp_read):
    auditor = as_role("AUDITOR")
    gp_events = auditor.resources("AuditEvent").search(agent_role="gp")
    total = gp_events.search(_summary="count").fetch_raw()["total"]
    assert total >= 2  # the practice's search and read of gp_read at least
    first = gp_events.search(_total="accurate").limit(1).fetch_raw()
    assert first["total"] == total
    assert len(first["entry"]) == 1 and any(link["relation"] == "next" for link in first["link"])
    # fhirpy follows the `next` links (a cursor) page by page: newest first, none twice.
    events = list(itertools.islice(gp_events.limit(1), 5))
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids)) == min(5, total)
    recorded = [e["recorded"] for e in events]
    assert recorded == sorted(recorded, reverse=True)
    assert all(e["agent"][0]["role"][0]["coding"][0]["code"] == "gp" for e in events)


def test_auditor_sees_the_directory_and_no_clinical_record(as_role):
    auditor = as_role("AUDITOR")
    assert auditor.resources("CarePlan").search(_summary="count").fetch_raw()["total"] == 0
    assert auditor.resources("QuestionnaireResponse").fetch_all() == []
    assert len(auditor.resources("Organization").fetch_all()) >= 6


def export(token: str, base: str, **params) -> requests.Response:
    """`GET $audit-export`: an NDJSON stream, which neither fhirpy nor fhir-kit-client can read (both
    parse every body as one JSON document), so it is fetched with requests; every line is still
    validated by the same hook."""
    return requests.get(
        f"{base}/$audit-export",
        params=params,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+ndjson"},
        timeout=60,
        **conftest.validated(),
    )


def test_auditor_exports_the_log_as_ndjson(token, base, as_role, gp_read):
    total = as_role("AUDITOR").resources("AuditEvent").search(_summary="count").fetch_raw()["total"]
    r = export(token("AUDITOR"), base)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/fhir+ndjson")
    events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert {e["resourceType"] for e in events} == {"AuditEvent"}
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) >= total
    plan = gp_read["plan"].id
    assert any(
        any(f"CarePlan/{plan}/" in x.get("what", {}).get("reference", "") for x in e.get("entity", []))
        and e["subtype"][0]["code"] == "read"
        for e in events
    )
    # A period: the events recorded in it, and none after the last one.
    first_day = min(e["recorded"] for e in events)[:10]
    day = [json.loads(line) for line in export(token("AUDITOR"), base, start=first_day, end=first_day).text.splitlines()]
    assert day and all(e["recorded"][:10] == first_day for e in day)
    last_day = datetime.date.fromisoformat(max(e["recorded"] for e in events)[:10])
    after = export(token("AUDITOR"), base, start=str(last_day + datetime.timedelta(days=1)))
    assert after.status_code == 200 and after.text.strip() == ""


def test_only_auditors_export_the_log(token, base):
    r = export(token("GP"), base)
    assert r.status_code == 403
    assert r.json()["issue"][0]["code"] == "forbidden"


def test_ann_sees_in_her_access_report_that_her_practice_read_her_plan(as_role, world, gp_read):
    ann = as_role("ANN")
    plan = gp_read["plan"]
    report = ann.resources("AuditEvent").search(entity=f"CarePlan/{plan.id}").sort("-date").limit(20).fetch()
    def roles(e):
        return {c["code"] for r in e["agent"][0].get("role", []) for c in r["coding"]}

    reads = [e for e in report if e["subtype"][0]["code"] == "read" and {"gp", "A81001"} <= roles(e)]
    assert reads, "her practice's read of her plan"
    event = reads[0]
    assert "identifier" not in event["agent"][0]["who"], "staff are not named to the patient"
    # Everything in her report is about her record.
    mine = f"Patient/{world.patients['Ann'].id}"
    for e in ann.resources("AuditEvent").limit(50).fetch():
        refs = [x["what"]["reference"].split("/_history/")[0] for x in e.get("entity", []) if "what" in x]
        patients = {r for r in refs if r.startswith("Patient/")}
        assert patients <= {mine}, e
    # Her report is smaller than the whole log.
    theirs = as_role("AUDITOR").resources("AuditEvent").search(_summary="count").fetch_raw()["total"]
    assert ann.resources("AuditEvent").search(_summary="count").fetch_raw()["total"] < theirs


def test_clinical_roles_have_no_audit_search(as_role):
    from fhirpy.base.exceptions import ForbiddenError

    with pytest.raises(ForbiddenError):
        as_role("GP").resources("AuditEvent").fetch()


def test_ann_learns_nothing_about_bob_by_filtering_her_report_on_him(as_role, world):
    bob = world.patients["Bob"].id
    ann = as_role("ANN")
    # The link service's search of its caseload touches Ann and Bob in one event.
    as_role("LINK_WORKER").resources("Patient").fetch_all()
    about_bob = ann.resources("AuditEvent").search(patient=f"Patient/{bob}", _summary="count").fetch_raw()
    assert about_bob["total"] == 0


@pytest.mark.last
def test_a_refused_request_at_the_base_is_audited_as_valid_fhir(as_role):
    with pytest.raises(OperationOutcome):
        as_role("GP").execute("", method="get", params={"_type": "CarePlan"})  # GET [base]/?_type=
    # The auditor's newest refused search: the validating hook raises InvalidFhir on it.
    event = as_role("AUDITOR").resources("AuditEvent").search(outcome="4", subtype="search-type").sort("-date").first()
    assert event["outcomeDesc"] == "HTTP 405"
