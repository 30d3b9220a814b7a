"""A referral posted by the hospital and found by the receiver; the housing view.

City Hospital (CNS, RH001; in Ann's care team) refers Ann to Northside Housing (H0001) about her
housing and her worry, in one transaction of the ServiceRequest and its Task. Ann's consent lets
housing see her practical domain only (src/sample.rs), so housing sees the referral with the
housing reason alone, and of her plan only the housing activity."""

import pytest
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from fhirpy.base.searchset import Raw

import payloads as p

NOTE = "Lives alone; low mood since the diagnosis"


def worklist(client, ods: str):
    """The receiver's worklist: Tasks it owns that wait for an answer, with their referrals."""
    return (
        client.resources("Task")
        .search(Raw(**{"owner:identifier": f"{p.ODS}|{ods}"}), status="requested,received")
        .include("Task", "focus")
    )


@pytest.fixture(scope="module")
def referred(as_role, world):
    housing = as_role("HOUSING")
    before = worklist(housing, "H0001").fetch_raw()
    bundle = p.referral_transaction(
        world.patients["Ann"].to_reference(),
        world.orgs["RH001"].to_reference(),
        world.orgs["H0001"].to_reference(),
        ["housing", "worry-fear-anxiety"],
        NOTE,
    )
    response = as_role("CNS").execute("", method="post", data=bundle)  # POST [base]
    locations = [e["response"]["location"] for e in response["entry"]]
    return {
        "response": response,
        "referral": locations[0].split("/")[1],
        "task": locations[1].split("/")[1],
        "before": before,
    }


def test_the_hospital_posts_the_referral_and_its_task_in_one_transaction(referred):
    response = referred["response"]
    assert response["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert [s.split()[0] for s in statuses] == ["201", "201"]
    kinds = [e["response"]["location"].split("/")[0] for e in response["entry"]]
    assert kinds == ["ServiceRequest", "Task"]


def test_housing_finds_it_on_its_worklist_redacted_to_the_practical_domain(as_role, referred):
    bundle = worklist(as_role("HOUSING"), "H0001").fetch_raw()
    tasks = {e["resource"]["id"]: e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"}
    included = {e["resource"]["id"]: e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"}
    assert referred["task"] in tasks
    assert bundle["total"] == referred["before"]["total"] + 1 == len(tasks)
    task = tasks[referred["task"]]
    assert task["status"] == "requested"
    assert task["focus"]["reference"] == f"ServiceRequest/{referred['referral']}"
    referral = included[referred["referral"]]
    assert p.is_redacted(referral)
    assert p.concerns_of(referral) == ["housing"], "the worry is in the emotional domain: not for housing"
    assert "note" not in referral


def test_the_hospital_sees_its_referral_whole_on_its_sent_list(as_role, referred):
    cns = as_role("CNS")
    sent = cns.resources("ServiceRequest").search(
        Raw(**{"requester:identifier": f"{p.ODS}|RH001"}), status="active"
    ).fetch_all()
    mine = {r.id: r for r in sent}
    assert referred["referral"] in mine
    referral = mine[referred["referral"]]
    assert not p.is_redacted(referral)
    assert p.concerns_of(referral) == ["housing", "worry-fear-anxiety"]
    assert referral["note"][0]["text"] == NOTE


def test_the_welfare_service_does_not_see_a_referral_not_addressed_to_it(as_role, referred):
    welfare = as_role("WELFARE")
    assert welfare.resources("ServiceRequest").search(_id=referred["referral"]).fetch_all() == []
    with pytest.raises(ResourceNotFound):
        welfare.reference("Task", referred["task"]).to_resource()


def test_fhirpy_update_of_the_task_is_refused_without_if_match(as_role, referred, traffic):
    """fhirpy's save() sends no If-Match, and Task updates need one (README "Referrals": 428): a
    receiver on fhirpy cannot answer a referral without adding the header itself."""
    housing = as_role("HOUSING")
    task = housing.reference("Task", referred["task"]).to_resource()
    task["status"] = "accepted"
    with pytest.raises(OperationOutcome) as refused:
        task.save()
    assert traffic.exchanges[-1].status == 428
    issue = refused.value.resource["issue"][0]
    assert issue["code"] == "required" and "If-Match" in issue["diagnostics"]
    assert housing.reference("Task", referred["task"]).to_resource()["status"] == "requested"


def test_housing_view_of_anns_plan_is_her_housing_activity_only(as_role, world):
    housing, link = as_role("HOUSING"), as_role("LINK_WORKER")
    ann = world.patients["Ann"].id
    seen = housing.resources("CarePlan").search(patient=ann).fetch_all()
    whole = {plan.id: plan for plan in link.resources("CarePlan").search(patient=ann)}
    assert seen, "housing performs an activity of Ann's plan"
    housing_org = f"Organization/{world.orgs['H0001'].id}"
    for plan in seen:
        full = whole[plan.id]
        assert p.is_redacted(plan)
        # The activities housing performs in the domain Ann shares with it; none of the others.
        theirs = [
            a["detail"]["reasonCode"][0]["coding"][0]["code"]
            for a in full["activity"]
            if {r["reference"] for r in a["detail"].get("performer", [])} == {housing_org}
            and a["detail"]["extension"][0]["valueCoding"]["code"] == "practical"
        ]
        assert p.concerns_of(plan) == theirs and "housing" in theirs
        assert len(p.concerns_of(full)) > len(theirs)
        assert "description" not in plan and "supportingInfo" not in plan
        assert plan["subject"]["reference"] == f"Patient/{ann}"
    # Nothing of Bob or Cara, and not Ann's HNA.
    subjects = {plan["subject"]["reference"] for plan in housing.resources("CarePlan").fetch_all()}
    assert subjects == {f"Patient/{ann}"}
    hna = whole[seen[0].id]["supportingInfo"][0]["reference"].split("/")[1]
    with pytest.raises(ResourceNotFound):
        housing.reference("QuestionnaireResponse", hna).to_resource()
