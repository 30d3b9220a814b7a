"""Capability and SMART discovery: what a client learns before it has a token, then (with the SMART
on FHIR Python client, fhirclient) the token it gets from the advertised endpoint with the
client_credentials grant, used for a GP system's pull of its patients' shared plans."""

import pytest
import requests
from fhirclient import client as smart
from fhirclient.models.careplan import CarePlan
from fhirclient.server import FHIRUnauthorizedException
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError

import conftest

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@pytest.fixture(scope="module")
def anonymous(base):
    """fhirpy with no token: only /metadata answers it."""
    return SyncFHIRClient(base, requests_config=conftest.validated())


def smart_app(base: str, secret: str, scope: str = "user/*.rs") -> smart.FHIRClient:
    """A SMART backend app of Riverside Surgery's GP system (`carebridge token --client --role gp
    --org A81001`), its responses validated like everyone's."""
    settings = {
        "app_id": conftest.env("CB_CLIENT_ID"),
        "app_secret": secret,
        "api_base": base,
        "scope": scope,
    }
    app = smart.FHIRClient(settings=settings, save_func=lambda state: None)
    app.wants_patient = False  # a system, not a patient-launch app
    app.server.session.hooks["response"].append(conftest.TRAFFIC.hook)
    return app


def test_capability_statement_names_r4_the_plan_searches_and_the_operations(anonymous, root):
    cap = anonymous.execute("metadata", method="get")
    assert cap["resourceType"] == "CapabilityStatement"
    assert cap["fhirVersion"] == "4.0.1"
    assert "application/fhir+json" in cap["format"] or "json" in cap["format"]
    rest = cap["rest"][0]
    assert rest["mode"] == "server"
    types = {r["type"]: r for r in rest["resource"]}
    for t in ("CarePlan", "QuestionnaireResponse", "ServiceRequest", "Task", "AuditEvent", "Consent"):
        assert t in types, f"{t} missing from the CapabilityStatement"
    assert "patient" in {p["name"] for p in types["CarePlan"].get("searchParam", [])}
    plan_interactions = {i["code"] for i in types["CarePlan"]["interaction"]}
    assert {"read", "search-type", "create", "update"} <= plan_interactions
    assert {"transaction", "batch"} <= {i["code"] for i in rest.get("interaction", [])}
    operations = {o["name"] for o in rest.get("operation", [])} | {
        o["name"] for r in rest["resource"] for o in r.get("operation", [])
    }
    assert {"audit-export", "consent-explain", "validate"} <= {o.lstrip("$") for o in operations}
    # SMART: the token endpoint in the security extension.
    uris = next(e for e in rest["security"]["extension"] if e["url"] == OAUTH_URIS)
    assert {e["url"]: e["valueUri"] for e in uris["extension"]} == {"token": f"{root}/auth/token"}


def test_a_search_without_a_token_is_refused(anonymous):
    with pytest.raises(AuthorizationError):
        anonymous.resources("CarePlan").fetch()


@pytest.mark.parametrize("where", ["root", "base"])
def test_smart_configuration_advertises_client_credentials(where, root, base):
    # A JSON document, not a FHIR resource: neither fhirpy nor fhirclient has a call for it.
    url = f"{root if where == 'root' else base}/.well-known/smart-configuration"
    doc = requests.get(url, timeout=10).json()
    assert doc["token_endpoint"] == f"{root}/auth/token"
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert {"client_secret_basic", "client_secret_post"} <= set(doc["token_endpoint_auth_methods_supported"])
    assert "client-confidential-symmetric" in doc["capabilities"]
    assert "authorization_endpoint" not in doc


def test_smart_app_discovers_the_token_endpoint_gets_a_token_and_pages_its_patients_plans(base, root, as_role, world):
    app = smart_app(base, conftest.env("CB_CLIENT_SECRET"))
    # Discovery: fhirclient reads /metadata into its own R4 models and the oauth-uris from it.
    assert app.prepare() is False  # discovered, not yet authorized
    assert app.server.capabilityStatement.fhirVersion == "4.0.1"
    assert app.server.auth.auth_type == "oauth2"
    assert app.server.auth.state["token_uri"] == f"{root}/auth/token"
    # client_credentials with the client secret (HTTP Basic): read and search only, as asked.
    app.authorize()
    assert app.ready
    assert app.launch_context["scope"] == "user/*.rs"
    assert app.launch_context["token_type"] == "Bearer"
    # The GP system pulls its patients' shared plans (Ann's and Cara's at least), a page per plan.
    pages = list(CarePlan.where(struct={"_count": "1"}).perform_iter(app.server))
    plans = [e.resource for page in pages for e in page.entry or []]
    assert len(pages) == pages[0].total == len(plans) >= 2
    ann, cara = world.patients["Ann"].id, world.patients["Cara"].id
    assert {f"Patient/{ann}", f"Patient/{cara}"} <= {p.subject.reference for p in plans}
    assert f"Patient/{world.patients['Bob'].id}" not in {p.subject.reference for p in plans}
    # The same practice by its sample token sees the same plans.
    assert {p.id for p in plans} == {p.id for p in as_role("GP").resources("CarePlan").fetch_all()}


def test_a_wrong_client_secret_gets_no_token(base):
    app = smart_app(base, "not-the-secret")
    app.prepare()
    with pytest.raises(FHIRUnauthorizedException):
        app.authorize()
    assert not app.ready
