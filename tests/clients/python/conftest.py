"""The Python client suite's fixtures: a fhirpy client per role of the sample world, each response
it receives checked by the strict R4 validator, and the sample world's ids as its users find them.

`tests/clients/run.sh` starts the gateway on a fresh store, loads the sample world
(`carebridge sample`) and exports:
  CB_BASE              the FHIR base URL (`http://127.0.0.1:<port>/fhir`)
  CB_ROOT              the server root (where `/.well-known/smart-configuration` and `/auth/token` are)
  CB_TOKEN_<ROLE>      a bearer token per sample role: GP, OTHER_GP, LINK_WORKER, CNS, HOUSING,
                       WELFARE, ANN (patient), AUDITOR, SYSTEM (the deployment's evaluation system)
  CB_CLIENT_ID, CB_CLIENT_SECRET   development client credentials of Riverside Surgery's GP system
  CB_JS_DUMP           the JavaScript suite's responses, checked by test_js_responses.py
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import requests
from fhirpy import SyncFHIRClient

import fhir.resources

import fhir_strict
from payloads import NHS, ODS

ROLES = ("GP", "OTHER_GP", "LINK_WORKER", "CNS", "HOUSING", "WELFARE", "ANN", "AUDITOR")


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite with `bash tests/clients/run.sh`", returncode=2)
    return value


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    resources: int


@dataclass
class Traffic:
    """Every response a client received, each already validated."""

    exchanges: list[Exchange] = field(default_factory=list)
    resources: int = 0
    js_resources: int = 0  # in the JavaScript suite's dump (test_js_responses.py)

    def hook(self, response: requests.Response, *args, **kwargs) -> None:
        """A `requests` response hook: validates the body (JSON or NDJSON) as strict FHIR R4 and
        records the exchange. An invalid resource raises, failing the call that received it."""
        where = f"{response.request.method} {response.url} -> {response.status_code}"
        n = fhir_strict.validate_body(response.text, response.headers.get("Content-Type", ""), where)
        self.resources += n
        self.exchanges.append(Exchange(response.request.method, response.url, response.status_code, n))

    def since(self, mark: int) -> list[Exchange]:
        return self.exchanges[mark:]


TRAFFIC = Traffic()


def validated(config: dict | None = None) -> dict:
    """`requests` settings that route every response through the validator (fhirpy passes its
    `requests_config` to each `requests.request`)."""
    return {**(config or {}), "hooks": {"response": [TRAFFIC.hook]}}


def fhir_client(token: str) -> SyncFHIRClient:
    return SyncFHIRClient(env("CB_BASE"), authorization=f"Bearer {token}", requests_config=validated())


@pytest.fixture(scope="session")
def base() -> str:
    return env("CB_BASE")


@pytest.fixture(scope="session")
def root() -> str:
    return env("CB_ROOT")


@pytest.fixture(scope="session")
def traffic() -> Traffic:
    return TRAFFIC


@pytest.fixture(scope="session")
def token():
    def of(role: str) -> str:
        return env(f"CB_TOKEN_{role}")

    return of


@pytest.fixture(scope="session")
def as_role(token):
    """`as_role("GP")`: a fhirpy client with that role's token."""
    clients: dict[str, SyncFHIRClient] = {}

    def client(role: str) -> SyncFHIRClient:
        if role not in clients:
            clients[role] = fhir_client(token(role))
        return clients[role]

    return client


@dataclass
class World:
    """The sample world (src/sample.rs) as the link service finds it."""

    patients: dict  # given name -> fhirpy Patient
    orgs: dict  # ODS code -> fhirpy Organization

    def nhs(self, name: str) -> str:
        return next(i["value"] for i in self.patients[name]["identifier"] if i["system"] == NHS)

    def nhs_token(self, name: str) -> str:
        """`system|value` of the person's NHS number, as a token search takes it."""
        return f"{NHS}|{self.nhs(name)}"


@pytest.fixture(scope="session")
def world(as_role) -> World:
    link = as_role("LINK_WORKER")
    patients = {}
    for name in ("Ann", "Bob", "Cara"):
        patients[name] = link.resources("Patient").search(given=name).get()
    orgs = {}
    for code in ("A81001", "B82002", "L0001", "RH001", "H0001", "W0001"):
        orgs[code] = link.resources("Organization").search(identifier=f"{ODS}|{code}").get()
    return World(patients, orgs)


def pytest_collection_modifyitems(items):
    """Tests marked `last` run after all others (a known gap that leaves an invalid resource in
    the audit log, which every later search of the log would return)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"fhir_strict: {TRAFFIC.resources} resources in {len(TRAFFIC.exchanges)} Python responses"
        f" and {TRAFFIC.js_resources} in the JavaScript suite's validated as FHIR R4"
        f" {fhir_strict.FHIR_VERSION} (fhir.resources {fhir.resources.__version__})"
    )
