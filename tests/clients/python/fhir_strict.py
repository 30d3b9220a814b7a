"""The one strict FHIR R4 (4.0.1) check of everything the gateway returns to the client suite.

Each resource is parsed with the `fhir.resources` (6.4.0, FHIR 4.0.1) model class of its
`resourceType`: unknown elements, wrong shapes (an object where a list belongs...), missing
mandatory elements and malformed primitives fail. Bundles are parsed whole (each entry's resource
with its own class) and then each entry's resource is checked again on its own, so a failure
names the entry.

`fhir.resources` sits on pydantic 1, which coerces JSON types (`"5"` becomes the integer 5, `1`
becomes `true`) and matches the date/time patterns only at the start of a string. On top of the
model parse this module therefore walks the parsed model against the JSON it came from and checks
each primitive as FHIR's JSON format states it: the JSON type (boolean, integer ranges, decimal
as a number, everything else a string), the R4 regular expression of the type, whole-string, no
`null`, no empty object, array or string.

Used by the fhirpy response hook (every response of every call), by the export and JS dump
checks, and as a command: `python fhir_strict.py FILE...` checks JSON, NDJSON or a dump of
`{"where": ..., "body": ...}` lines (the JS suite's) and exits non-zero on the first bad file.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import fhir.resources
from fhir.resources import get_fhir_model_class
from fhir.resources.core.fhirabstractmodel import FHIRAbstractModel

FHIR_VERSION = fhir.resources.__fhir_version__
assert FHIR_VERSION == "4.0.1", f"fhir.resources models FHIR {FHIR_VERSION}, not R4 4.0.1"

# FHIR R4 primitive types (http://hl7.org/fhir/R4/datatypes.html), matched against whole strings.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
PATTERNS = {
    "string": r"[ \r\n\t\S]+",
    "markdown": r"\s*(\S|\s)*",
    "xhtml": r"(.|\s)+",
    "code": r"[^\s]+( [^\s]+)*",
    "id": r"[A-Za-z0-9\-\.]{1,64}",
    "uri": r"\S*",
    "url": r"\S*",
    "canonical": r"\S*",
    "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
    "uuid": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
    "date": rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?",
    "dateTime": rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?",
    "instant": rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}",
    "time": _TIME,
}
PATTERNS = {k: re.compile(v) for k, v in PATTERNS.items()}
INT32 = (-(2**31), 2**31 - 1)


class InvalidFhir(AssertionError):
    """A returned resource that is not valid FHIR R4."""


def _primitive_problem(kind: str, value: Any) -> str | None:
    if value is None:
        return "null is not allowed"
    if kind == "boolean":
        return None if isinstance(value, bool) else f"a boolean must be true or false, not {value!r}"
    if kind in ("integer", "unsignedInt", "positiveInt"):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"an {kind} must be a JSON integer, not {value!r}"
        low = {"integer": INT32[0], "unsignedInt": 0, "positiveInt": 1}[kind]
        if not low <= value <= INT32[1]:
            return f"{value} is out of range for {kind}"
        return None
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a decimal must be a JSON number, not {value!r}"
        return None
    if not isinstance(value, str):
        return f"a {kind} must be a JSON string, not {value!r}"
    pattern = PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        return f"{value!r} is not a valid {kind}"
    return None


def _kind(t: Any) -> str | None:
    """The FHIR primitive type of a model field's type, or None for a complex one."""
    if t is bool:
        return "boolean"
    name = getattr(t, "__visit_name__", None)
    if name:
        return name
    for arg in getattr(t, "__args__", ()) or ():  # Optional[String], Union[Id, String, None]
        name = getattr(arg, "__visit_name__", None)
        if name:
            return name
    return None


def _walk(model: FHIRAbstractModel, raw: Any, path: str, problems: list[str]) -> None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected an object, got {raw!r}")
        return
    if not raw:
        problems.append(f"{path}: empty object")
    if "fhir_comments" in raw:
        problems.append(f"{path}.fhir_comments: not an element of FHIR R4 JSON")
    for name, field in model.__fields__.items():
        key = field.alias
        if key not in raw:
            continue
        raw_value = raw[key]
        value = getattr(model, name)
        where = f"{path}.{key}"
        if raw_value is None:
            problems.append(f"{where}: null is not allowed")
            continue
        kind = _kind(field.type_)
        if isinstance(raw_value, list):
            if not raw_value:
                problems.append(f"{where}: empty array")
            pairs = list(zip(raw_value, value if isinstance(value, list) else []))
            if kind is None and len(pairs) != len(raw_value):
                problems.append(f"{where}: not a list in the model")
            for i, (r, v) in enumerate(pairs):
                _one(kind, v, r, f"{where}[{i}]", problems)
            if kind is not None:
                for i, r in enumerate(raw_value[len(pairs):], start=len(pairs)):
                    _one(kind, None, r, f"{where}[{i}]", problems)
        else:
            _one(kind, value, raw_value, where, problems)


def _one(kind: str | None, value: Any, raw: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, FHIRAbstractModel):
        _walk(value, raw, where, problems)
    elif kind is not None:
        problem = _primitive_problem(kind, raw)
        if problem:
            problems.append(f"{where}: {problem}")
        elif isinstance(raw, str) and raw != raw.strip() and kind not in ("markdown", "xhtml", "string"):
            problems.append(f"{where}: leading or trailing whitespace in a {kind}")


def validate(resource: Any, where: str = "response") -> FHIRAbstractModel:
    """Parses `resource` (a dict from JSON) with the R4 model of its resourceType and checks its
    primitives strictly; raises InvalidFhir naming every problem. Returns the model."""
    if not isinstance(resource, dict):
        raise InvalidFhir(f"{where}: not a JSON object: {resource!r:.200}")
    resource = json.loads(json.dumps(resource))  # plain dicts and lists (fhirpy hands AttrDicts)
    rtype = resource.get("resourceType")
    try:
        cls = get_fhir_model_class(rtype)
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidFhir(f"{where}: unknown resourceType {rtype!r} in FHIR R4") from e
    try:
        model = cls.parse_obj(resource)
    except Exception as e:  # pydantic.ValidationError and the models' own checks
        raise InvalidFhir(f"{where}: {rtype} is not valid FHIR R4:\n{e}") from e
    problems: list[str] = []
    _walk(model, resource, rtype, problems)
    if problems:
        raise InvalidFhir(f"{where}: {rtype} is not valid FHIR R4 JSON:\n  " + "\n  ".join(problems))
    if rtype == "Bundle":
        for i, entry in enumerate(resource.get("entry", [])):
            if "resource" in entry:
                validate(entry["resource"], f"{where} entry[{i}]")
            outcome = entry.get("response", {}).get("outcome")
            if outcome is not None:
                validate(outcome, f"{where} entry[{i}].response.outcome")
    return model


def validate_body(text: str, content_type: str, where: str) -> int:
    """Validates a response body of `content_type`: one JSON resource, or NDJSON (one per line).
    Bodies that are not FHIR (the SMART configuration, a token response) are left alone. Returns
    the number of resources checked."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    if not text.strip():
        return 0
    if content_type.endswith("ndjson"):
        n = 0
        for i, line in enumerate(text.splitlines()):
            if line.strip():
                validate(json.loads(line), f"{where} line {i + 1}")
                n += 1
        return n
    try:
        body = json.loads(text)
    except json.JSONDecodeError as e:
        if "json" in content_type:
            raise InvalidFhir(f"{where}: {content_type} that is not JSON: {text[:200]!r}") from e
        return 0
    if isinstance(body, dict) and "resourceType" in body:
        validate(body, where)
        return 1
    if content_type == "application/fhir+json":
        raise InvalidFhir(f"{where}: application/fhir+json without a resourceType: {text[:200]}")
    return 0


def validate_file(path: str) -> int:
    """Checks a file: a JSON resource, NDJSON resources, or the JS suite's dump (NDJSON lines of
    `{"where", "status", "contentType", "body"}`). Returns the number of resources checked."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)  # one JSON document, pretty-printed or not
    except json.JSONDecodeError:
        whole = None
    items = [whole] if isinstance(whole, dict) else [json.loads(line) for line in text.splitlines() if line.strip()]
    n = 0
    for i, item in enumerate(items):
        if isinstance(item, dict) and "resourceType" in item:
            validate(item, f"{path} line {i + 1}")
            n += 1
        elif isinstance(item, dict) and "body" in item:
            n += validate_body(item["body"], item.get("contentType", ""), item.get("where", f"{path} line {i + 1}"))
        else:
            raise InvalidFhir(f"{path} line {i + 1}: neither a resource nor a recorded response")
    return n


if __name__ == "__main__":
    total = 0
    for p in sys.argv[1:]:
        try:
            total += validate_file(p)
        except InvalidFhir as e:
            print(f"INVALID FHIR R4: {e}", file=sys.stderr)
            sys.exit(1)
    print(f"fhir_strict: {total} resources valid FHIR R4 {FHIR_VERSION}")
