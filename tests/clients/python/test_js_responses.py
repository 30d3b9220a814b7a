"""The JavaScript suite's responses (tests/clients/js records every response fhir-kit-client
received into CB_JS_DUMP), checked by the same strict R4 validator as the Python suite's."""

import os

import pytest

import conftest
import fhir_strict


def test_every_resource_the_javascript_client_received_is_valid_r4():
    dump = os.environ.get("CB_JS_DUMP")
    if not dump:
        pytest.skip("CB_JS_DUMP is not set: run.sh sets it after the JavaScript suite")
    assert os.path.exists(dump) and os.path.getsize(dump) > 0, f"{dump}: the JavaScript suite recorded nothing"
    checked = fhir_strict.validate_file(dump)
    assert checked > 20
    conftest.TRAFFIC.js_resources = checked
