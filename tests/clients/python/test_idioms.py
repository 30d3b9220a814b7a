"""fhirpy idioms the gateway answers otherwise than a lenient server would, by its documented
design (README "What it serves", "Who may write what"). Each is pinned here so that a change on
either side is noticed; the journeys use the idiom that works (said in each test)."""

import json

import pytest
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

import payloads as p


def diagnostics(error) -> str:
    resource = getattr(error, "resource", None) or json.loads(str(error))
    return resource["issue"][0]["diagnostics"]


def test_searchset_count_sends_an_aidbox_parameter_the_gateway_refuses(as_role, traffic):
    """`.count()` adds `_totalMethod=count`; unknown search parameters are a 400 here (not
    ignored), so the suite counts with `_summary=count`."""
    with pytest.raises(OperationOutcome) as refused:
        as_role("GP").resources("CarePlan").count()
    assert traffic.exchanges[-1].status == 400
    assert "_totalMethod" in diagnostics(refused.value)
    assert as_role("GP").resources("CarePlan").search(_summary="count").fetch_raw()["total"] >= 2


def test_get_or_create_puts_its_conditions_in_the_url_which_a_create_refuses(as_role, world):
    """fhirpy's conditional create sends the criteria as URL parameters of the POST, not as
    If-None-Exist; the gateway refuses rather than create unconditionally."""
    link = as_role("LINK_WORKER")
    body = p.hna(world.patients["Bob"].to_reference(), world.orgs["L0001"].to_reference())
    body["identifier"] = {"system": "https://example.org/ehna", "value": "client-suite-1"}
    search = link.resources("QuestionnaireResponse").search(identifier="https://example.org/ehna|client-suite-1")
    with pytest.raises(OperationOutcome) as refused:
        search.get_or_create(link.resource("QuestionnaireResponse", **body))
    assert "If-None-Exist" in diagnostics(refused.value)
    assert search.fetch_all() == []


def test_fhirpy_patch_is_a_partial_resource_not_a_json_patch(as_role, world):
    """fhirpy PATCHes a partial resource (merge style); the gateway takes JSON Patch or FHIRPath
    Patch (fhir-kit-client's patch sends JSON Patch)."""
    link = as_role("LINK_WORKER")
    plan = link.resources("CarePlan").search(patient=world.patients["Bob"].id).first()
    with pytest.raises(OperationOutcome) as refused:
        link.patch("CarePlan", plan.id, description="merged")
    assert "JSON Patch" in diagnostics(refused.value)
    assert link.reference("CarePlan", plan.id).to_resource()["meta"]["versionId"] == plan["meta"]["versionId"]


def test_conditional_update_and_delete_are_for_system_only(as_role, world):
    link = as_role("LINK_WORKER")
    plan = link.resources("CarePlan").search(patient=world.patients["Bob"].id).first()
    with pytest.raises(ForbiddenError) as refused:
        link.resources("CarePlan").search(_id=plan.id).update(plan)
    assert "If-Match" in diagnostics(refused.value)
    with pytest.raises(ForbiddenError):
        plan.delete()


def test_a_compartment_search_finds_what_the_search_by_patient_finds(as_role, world):
    """`Patient/<id>/CarePlan` is the same search as `CarePlan?patient=Patient/<id>`, under the
    same consent: the GP finds Ann's shared plans either way."""
    gp = as_role("GP")
    ann = world.patients["Ann"].id
    by_path = gp.execute(f"Patient/{ann}/CarePlan", method="get")
    by_param = gp.resources("CarePlan").search(patient=f"Patient/{ann}").fetch_raw()
    ids = lambda bundle: sorted(e["resource"]["id"] for e in bundle.get("entry", []))
    assert ids(by_path) == ids(by_param) != []
    with pytest.raises(ResourceNotFound):
        gp.execute(f"Patient/{ann}/Organization", method="get")
