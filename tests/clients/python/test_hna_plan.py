"""The link worker's HNA and plan, and the GP's pull of the shared plans by NHS number.

Cara (Riverside Surgery's patient, supported by the Macmillan link service) has a new HNA and two
new plans: one she shares with her GP, one she does not. Her consent denies GPs her HNAs
(src/sample.rs)."""

import json

import pytest
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound
from fhirpy.base.searchset import Raw

import payloads as p


@pytest.fixture(scope="module")
def posted(as_role, world):
    """The link service's system posts Cara's HNA, then two plans citing it."""
    link = as_role("LINK_WORKER")
    cara = world.patients["Cara"].to_reference()
    link_service = world.orgs["L0001"].to_reference()
    gp = world.orgs["A81001"].to_reference()
    hna = link.resource("QuestionnaireResponse", **p.hna(cara, link_service, scores=(8, 3, 9)))
    hna.save()
    activities = [
        p.activity("physical", "breathing", "information-advice", gp),
        p.activity("emotional", "worry-fear-anxiety", "referral", link_service),
    ]
    shared = link.resource("CarePlan", **p.plan(cara, link_service, hna.to_reference(), activities, ("gp",)))
    shared.save()
    private = link.resource(
        "CarePlan", **p.plan(cara, link_service, hna.to_reference(), activities[1:], shared_with=(), title="Private")
    )
    private.save()
    return {"hna": hna, "shared": shared, "private": private}


def by_nhs_number(client, world, name, **more):
    return client.resources("CarePlan").search(Raw(**{"patient:identifier": world.nhs_token(name)}), **more)


def test_link_worker_posts_an_hna_and_plans_that_cite_it(posted, world):
    hna, shared, private = posted["hna"], posted["shared"], posted["private"]
    for r in (hna, shared, private):
        assert r.id and r["meta"]["versionId"] == "1"
    assert hna["status"] == "completed"
    assert hna["subject"]["reference"] == f"Patient/{world.patients['Cara'].id}"
    assert shared["supportingInfo"][0]["reference"] == f"QuestionnaireResponse/{hna.id}"
    assert p.concerns_of(shared) == ["breathing", "worry-fear-anxiety"]
    assert shared["extension"] == [{"url": p.SHARED_WITH, "valueCode": "gp"}]


def test_an_hna_that_breaks_the_questionnaire_is_refused_naming_the_item(as_role, world):
    link = as_role("LINK_WORKER")
    bad = p.hna(world.patients["Cara"].to_reference(), world.orgs["L0001"].to_reference(), scores=(11, 3, 9))
    with pytest.raises(OperationOutcome) as refused:
        link.resource("QuestionnaireResponse", **bad).save()
    issue = refused.value.resource["issue"][0]
    assert issue["severity"] == "error"
    assert "breathing" in issue["diagnostics"]
    assert issue["expression"] == ["QuestionnaireResponse.item[0].item[0].answer[0].valueInteger"]


def test_gp_pulls_the_shared_plans_by_nhs_number_page_by_page(as_role, world, posted, traffic):
    gp = as_role("GP")
    mark = len(traffic.exchanges)
    plans = list(by_nhs_number(gp, world, "Cara").limit(1))  # iterating follows the `next` links
    pages = traffic.since(mark)
    ids = [plan.id for plan in plans]
    assert len(ids) == len(set(ids)) >= 2, "every plan once"
    assert len(pages) == len(ids), "one plan per page"
    assert all("_count=1" in e.url for e in pages)
    assert posted["shared"].id in ids
    assert posted["private"].id not in ids, "a plan Cara did not share with her GP"
    assert {plan["subject"]["reference"] for plan in plans} == {f"Patient/{world.patients['Cara'].id}"}
    first = by_nhs_number(gp, world, "Cara").limit(1).fetch_raw()
    assert first["total"] == len(ids)
    # The link service, which wrote them, sees both.
    mine = {plan.id for plan in by_nhs_number(as_role("LINK_WORKER"), world, "Cara")}
    assert {posted["shared"].id, posted["private"].id} <= mine


def test_the_chained_form_finds_the_same_plans(as_role, world, posted):
    gp = as_role("GP")
    modifier = {plan.id for plan in by_nhs_number(gp, world, "Cara").limit(2)}
    chained = gp.resources("CarePlan").search(patient__identifier=world.nhs_token("Cara")).limit(2)
    assert {plan.id for plan in chained} == modifier
    assert posted["shared"].id in modifier


def test_another_practice_sees_none_of_caras_plans(as_role, world, posted):
    assert by_nhs_number(as_role("OTHER_GP"), world, "Cara").fetch_all() == []
    with pytest.raises(ResourceNotFound):
        as_role("OTHER_GP").reference("CarePlan", posted["shared"].id).to_resource()


def test_the_gp_does_not_see_caras_hna_she_denied_it(as_role, world, posted):
    gp, link = as_role("GP"), as_role("LINK_WORKER")
    nhs = Raw(**{"patient:identifier": world.nhs_token("Cara")})
    assert gp.resources("QuestionnaireResponse").search(nhs).fetch_all() == []
    assert posted["hna"].id in {r.id for r in link.resources("QuestionnaireResponse").search(nhs)}
    with pytest.raises(ResourceNotFound):
        gp.reference("QuestionnaireResponse", posted["hna"].id).to_resource()


def test_conditional_read_answers_304_until_the_plan_changes(as_role, posted, traffic):
    gp = as_role("GP")
    plan = gp.resources("CarePlan").search(_id=posted["shared"].id).get()
    mark = len(traffic.exchanges)
    plan.refresh()  # fhirpy sends If-None-Match with the version it holds
    assert [e.status for e in traffic.since(mark)] == [304]
    assert plan["meta"]["versionId"] == "1"
    # The link worker changes the plan; the GP's next refresh brings the new version.
    mine = as_role("LINK_WORKER").resources("CarePlan").search(_id=posted["shared"].id).get()
    mine["description"] = "Distress 6/10 after the breathing clinic"
    mine.save()
    assert mine["meta"]["versionId"] == "2"
    mark = len(traffic.exchanges)
    plan.refresh()
    assert [e.status for e in traffic.since(mark)] == [200]
    assert plan["meta"]["versionId"] == "2"
    assert plan["description"] == "Distress 6/10 after the breathing clinic"


def test_validate_says_whether_a_plan_would_be_accepted_and_stores_nothing(as_role, world, posted):
    link = as_role("LINK_WORKER")
    cara, author = world.patients["Cara"].to_reference(), world.orgs["L0001"].to_reference()
    hna = posted["hna"].to_reference()
    before = len(by_nhs_number(link, world, "Cara").fetch_all())
    good = link.resource("CarePlan", **p.plan(cara, author, hna, [p.activity("physical", "pain", "signposting", author)]))
    assert good.is_valid()  # POST CarePlan/$validate
    bad = link.resource("CarePlan", **p.plan(cara, author, hna, [p.activity("physical", "no-such-concern", "signposting", author)]))
    assert not bad.is_valid()
    with pytest.raises(OperationOutcome) as outcome:
        bad.is_valid(raise_exception=True)
    issue = outcome.value.resource["issue"][0]
    assert "no-such-concern" in issue["diagnostics"]
    assert issue["expression"] == ["CarePlan.activity[0].detail.reasonCode[0].coding[0].code"]
    assert len(by_nhs_number(link, world, "Cara").fetch_all()) == before, "$validate stored nothing"


def test_validate_agrees_with_create_about_a_person_the_organisation_does_not_care_for(as_role, world):
    cns = as_role("CNS")
    bob, hospital = world.patients["Bob"].to_reference(), world.orgs["RH001"].to_reference()
    body = p.plan(bob, hospital, None, [p.activity("physical", "pain", "signposting", hospital)])
    del body["supportingInfo"]
    with pytest.raises(ForbiddenError) as refused:
        cns.resource("CarePlan", **body).save()
    assert json.loads(str(refused.value))["issue"][0]["expression"] == ["CarePlan.subject"]
    plan = cns.resource("CarePlan", **body)
    outcome = plan.execute("$validate", params={"mode": "create"}, data=plan.serialize())
    assert any(i["severity"] in ("error", "fatal") for i in outcome["issue"]), outcome
