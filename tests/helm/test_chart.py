"""The Helm chart (helm/carebridge), rendered and linted by Helm v4's own engine (helm-python-sdk
carries it as a shared library: no helm binary, no cluster) and every rendered manifest validated
against the Kubernetes API schemas (kubernetes-validate, strict: unknown fields are errors).

- Every values/*.yaml must lint without errors or warnings, render, and give manifests that pass
  the schemas; then the checks a reviewer would make (security context, no Secret rendered, each
  setting the gateway reads has a mount behind its path, ...) and those of its own set (CHECKS).
- Every invalid/*.yaml must fail to render, with the text its first line names (`# expect: ...`).

The ServiceMonitor is a Prometheus Operator CRD, not in the Kubernetes schemas: it is checked for
its shape only (apiVersion, kind, spec.endpoints), not validated against a schema.

Run with tests/helm/run.sh, which installs the two packages; prints one line per check and closes
with "N passed, N failed"; exits non-zero on any failure.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import helm_python as helm
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE.parent.parent / "helm" / "carebridge"
RELEASE = "carebridge"
NAMESPACE = "fhir"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBE_VERSIONS = ("1.27", "1.34")
LINT_KUBE_VERSION = "v1.34.0"

# Every CAREBRIDGE_* variable the gateway reads (src/config.rs, src/auth/settings.rs, and the TLS and
# metrics settings being added): any other stops its start-up, so the chart may set no other.
GATEWAY_VARIABLES = {
    f"CAREBRIDGE_{n}"
    for n in """LISTEN BASE_URL DATABASE_URL AUDIT_DIR AUDIT_CHAIN CONSENT_POLICY WORKERS LOG
    NOTIFY_ALLOWED_HOSTS NOTIFY_MAX_ATTEMPTS OUTBOUND_CA_FILE MAX_BODY_BYTES DEFAULT_PAGE_SIZE
    MAX_PAGE_SIZE MAX_SEARCH_RESULTS CANONICAL_BASE EXTRACT_THRESHOLD
    AUTH_ISSUER AUTH_AUDIENCE AUTH_ALGORITHMS AUTH_JWKS_URL AUTH_JWKS_FILE AUTH_TOKEN_ENDPOINT
    AUTH_HS256_SECRET TLS_CERT_FILE TLS_KEY_FILE TLS_CLIENT_CA_FILE TLS_CLIENT_AUTH
    METRICS_LISTEN""".split()
}
# Settings that name a file: a volume must be mounted above each.
FILE_VARIABLES = {
    "CAREBRIDGE_CONSENT_POLICY", "CAREBRIDGE_OUTBOUND_CA_FILE", "CAREBRIDGE_AUTH_JWKS_FILE",
    "CAREBRIDGE_TLS_CERT_FILE", "CAREBRIDGE_TLS_KEY_FILE", "CAREBRIDGE_TLS_CLIENT_CA_FILE",
    "CAREBRIDGE_AUDIT_DIR",
}


class Manifests:
    """The documents one values file renders to, with the lookups the checks need."""

    def __init__(self, docs: list[dict[str, Any]]):
        self.docs = docs

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    @property
    def sts(self) -> dict[str, Any]:
        return self.one("StatefulSet")

    @property
    def pod(self) -> dict[str, Any]:
        return self.sts["spec"]["template"]["spec"]

    @property
    def container(self) -> dict[str, Any]:
        return self.pod["containers"][0]

    def settings(self) -> dict[str, Any]:
        """The container's environment: ConfigMap values as strings, `env` entries as given."""
        out: dict[str, Any] = {}
        for source in self.container.get("envFrom", []):
            name = source["configMapRef"]["name"]
            out.update(self.one("ConfigMap", name)["data"])
        for entry in self.container.get("env", []):
            out[entry["name"]] = entry.get("value", entry.get("valueFrom"))
        return out


def values_of(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def render(values: dict[str, Any]) -> Manifests:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc is not None:
                assert isinstance(doc, dict), f"{template}: a document that is not a mapping"
                docs.append(doc)
    return Manifests(docs)


# --- what every positive set must satisfy ---------------------------------------------------


def lint_clean(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE,
                       kube_version=LINT_KUBE_VERSION)
    # Severity 1 is information ("icon is recommended"); 2 warning, 3 error.
    bad = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not bad, f"lint: {report['errors']} {bad}"


def schema_valid(m: Manifests) -> None:
    for doc in m.docs:
        where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") == "ServiceMonitor":
            # A CRD: not in the Kubernetes schemas, so its shape only.
            assert doc["apiVersion"] == "monitoring.coreos.com/v1", where
            endpoints = doc["spec"]["endpoints"]
            assert isinstance(endpoints, list) and endpoints, f"{where}: no endpoints"
            assert isinstance(doc["spec"]["selector"]["matchLabels"], dict), where
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                raise AssertionError(f"{where} (Kubernetes {version}): {e.message} "
                                     f"at {'/'.join(map(str, e.absolute_path))}") from None


def reviewer_checks(m: Manifests) -> None:
    assert not m.of_kind("Secret"), "the chart must only reference Secrets, never create one"
    pod = m.pod
    ctx = pod["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 65532 and ctx["fsGroup"] == 65532
    assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False, "service links inject unknown CAREBRIDGE_* names"
    assert pod["serviceAccountName"] == m.one("ServiceAccount")["metadata"]["name"]
    assert pod["terminationGracePeriodSeconds"] >= 30
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, f"{c['name']}: root filesystem writable"
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], f"{c['name']}: capabilities not dropped"
        assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {mt["mountPath"]: mt for mt in m.container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "/tmp is not an emptyDir"
    claims = [t["metadata"]["name"] for t in m.sts["spec"]["volumeClaimTemplates"]]
    for mt in mounts.values():
        assert mt["name"] in volumes or mt["name"] in claims, f"mount of no volume: {mt['name']}"
        assert "subPath" not in mt, "subPath mounts are not updated when their source changes"
    settings = m.settings()
    unknown = {k for k in settings if k.startswith("CAREBRIDGE_")} - GATEWAY_VARIABLES
    assert not unknown, f"variables the gateway does not know (it would not start): {unknown}"
    for name in FILE_VARIABLES & settings.keys():
        path = settings[name]
        assert any(path.startswith(p.rstrip("/") + "/") for p in mounts), f"{name}={path}: not mounted"
    assert settings["CAREBRIDGE_AUDIT_DIR"].startswith("/data/"), "audit journal off the volume"
    assert settings["CAREBRIDGE_AUDIT_CHAIN"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # Never development mode.
    for name in ("CAREBRIDGE_AUTH_ISSUER", "CAREBRIDGE_AUTH_AUDIENCE", "CAREBRIDGE_AUTH_ALGORITHMS"):
        assert settings.get(name), f"{name} is not set"
    probes = [m.container[p] for p in ("livenessProbe", "readinessProbe", "startupProbe")]
    paths = {p["httpGet"]["path"] for p in probes if "httpGet" in p}
    assert paths <= {"/healthz", "/readyz"}, paths
    headless = m.one("Service", m.sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"


# --- what each set adds -------------------------------------------------------------------------


def probes(m: Manifests) -> dict[str, dict[str, Any]]:
    return {p: m.container[p] for p in ("livenessProbe", "readinessProbe", "startupProbe")}


def check_sqlite(m: Manifests) -> None:
    assert m.sts["spec"]["replicas"] == 1
    assert m.settings()["CAREBRIDGE_DATABASE_URL"] == "sqlite:///data/carebridge.db"
    assert [t["metadata"]["name"] for t in m.sts["spec"]["volumeClaimTemplates"]] == ["data"]
    assert not m.of_kind("PodDisruptionBudget"), "a budget on one replica blocks node drains"
    assert not m.of_kind("ServiceMonitor")
    assert "CAREBRIDGE_METRICS_LISTEN" not in m.settings(), "metrics are off by default"
    assert probes(m)["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "fhir",
                                                     "scheme": "HTTP"}
    assert probes(m)["readinessProbe"]["httpGet"]["path"] == "/readyz"


def check_postgres(m: Manifests) -> None:
    spec = m.sts["spec"]
    assert spec["replicas"] == 3
    assert spec["volumeClaimTemplates"], "each pod needs its own journal volume"
    retention = spec["persistentVolumeClaimRetentionPolicy"]
    assert retention == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    settings = m.settings()
    assert settings["CAREBRIDGE_DATABASE_URL"] == {
        "secretKeyRef": {"name": "carebridge-database", "key": "url"}}
    assert "CAREBRIDGE_DATABASE_URL" not in m.one("ConfigMap", RELEASE)["data"]
    assert m.one("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert settings["CAREBRIDGE_CONSENT_POLICY"] == "/etc/carebridge/consent/policy.toml"
    assert "[defaults]" in m.one("ConfigMap", f"{RELEASE}-consent")["data"]["policy.toml"]
    assert settings["CAREBRIDGE_NOTIFY_ALLOWED_HOSTS"] == "hooks.example.nhs.uk,alerts.example.org"
    egress_ports = [p["port"] for r in m.one("NetworkPolicy")["spec"]["egress"] for p in r["ports"]]
    assert 5432 in egress_ports and 443 in egress_ports and 53 in egress_ports
    clients = m.one("Service", RELEASE)["spec"]
    assert clients.get("clusterIP") != "None"


def check_tls_mtls(m: Manifests) -> None:
    settings = m.settings()
    assert settings["CAREBRIDGE_TLS_CERT_FILE"] == "/etc/carebridge/tls/tls.crt"
    assert settings["CAREBRIDGE_TLS_KEY_FILE"] == "/etc/carebridge/tls/tls.key"
    assert settings["CAREBRIDGE_TLS_CLIENT_AUTH"] == "required"
    assert settings["CAREBRIDGE_TLS_CLIENT_CA_FILE"] == "/etc/carebridge/client-ca/ca.crt"
    volumes = {v["name"]: v for v in m.pod["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "carebridge-tls"
    assert volumes["client-ca"]["secret"]["secretName"] == "carebridge-client-ca"
    mounts = {mt["name"]: mt for mt in m.container["volumeMounts"]}
    assert mounts["tls"]["readOnly"] is True and mounts["client-ca"]["readOnly"] is True
    # Client certificates required: the kubelet cannot present one, so the probes connect over TCP.
    for name, probe in probes(m).items():
        assert probe.get("tcpSocket") == {"port": "fhir"}, f"{name}: {probe}"


def check_tls_optional(m: Manifests) -> None:
    settings = m.settings()
    assert settings["CAREBRIDGE_TLS_CLIENT_AUTH"] == "optional"
    assert settings["CAREBRIDGE_TLS_CERT_FILE"] == "/etc/carebridge/tls/tls.crt"
    volumes = {v["name"]: v for v in m.pod["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "carebridge-tls"
    assert volumes["client-ca"]["configMap"]["name"] == "carebridge-client-ca"
    for name, probe in probes(m).items():
        assert probe["httpGet"]["scheme"] == "HTTPS", f"{name}: {probe}"
    assert settings["CAREBRIDGE_AUTH_HS256_SECRET"] == {
        "secretKeyRef": {"name": "carebridge-hs256", "key": "secret"}}
    assert m.one("Service", RELEASE)["spec"]["ports"][0]["appProtocol"] == "https"


def check_metrics(m: Manifests) -> None:
    assert m.settings()["CAREBRIDGE_METRICS_LISTEN"] == "0.0.0.0:9090"
    ports = {p["name"]: p["containerPort"] for p in m.container["ports"]}
    assert ports == {"fhir": 8080, "metrics": 9090}
    svc = m.one("Service", f"{RELEASE}-metrics")
    assert svc["spec"]["ports"][0]["targetPort"] == "metrics"
    monitor = m.one("ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert all(svc["metadata"]["labels"].get(k) == v for k, v in selected.items())
    assert not all(m.one("Service", RELEASE)["metadata"]["labels"].get(k) == v
                   for k, v in selected.items()), "the ServiceMonitor also selects the FHIR Service"
    ingress = m.one("NetworkPolicy")["spec"]["ingress"]
    metrics_rule = [r for r in ingress if r["ports"][0]["port"] == "metrics"]
    assert metrics_rule and metrics_rule[0]["from"][0]["namespaceSelector"]


CHECKS: dict[str, Callable[[Manifests], None]] = {
    "sqlite": check_sqlite,
    "postgres": check_postgres,
    "tls-mtls": check_tls_mtls,
    "tls-optional": check_tls_optional,
    "metrics": check_metrics,
}


# --- the runner ---------------------------------------------------------------------------------


def main() -> int:
    helm.disable_logging()
    results: list[tuple[str, str | None]] = []

    def run(name: str, fn: Callable[[], Any]) -> Any:
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            detail = str(e) or traceback.format_exc(limit=-1).strip()
            results.append((name, f"{type(e).__name__}: {detail}"))
            print(f"FAIL {name}\n     {detail.strip().replace(chr(10), chr(10) + '     ')}")
            return None
        results.append((name, None))
        print(f"ok   {name}")
        return value

    positive = sorted((HERE / "values").glob("*.yaml"))
    assert {p.stem for p in positive} == set(CHECKS), "values/ and CHECKS disagree"
    for path in positive:
        values = values_of(path)
        run(f"{path.stem}: lint", lambda: lint_clean(values))
        m = run(f"{path.stem}: render", lambda: render(values))
        if m is None:
            continue
        run(f"{path.stem}: Kubernetes schemas {', '.join(KUBE_VERSIONS)} (strict)",
            lambda: schema_valid(m))
        run(f"{path.stem}: security, mounts, settings", lambda: reviewer_checks(m))
        run(f"{path.stem}: its own checks", lambda: CHECKS[path.stem](m))

    for path in sorted((HERE / "invalid").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
        expected = first.removeprefix("# expect: ").strip()

        def refused(values: dict[str, Any] = values_of(path), expected: str = expected) -> None:
            try:
                render(values)
            except (helm.HelmValuesError, helm.HelmRenderError) as e:
                assert expected in str(e), f"refused, but not with {expected!r}: {e}"
                return
            raise AssertionError("rendered, but should have been refused")

        run(f"{path.stem}: refused ({expected})", refused)

    failed = [name for name, error in results if error]
    if failed:
        print("\nfailed:\n  " + "\n  ".join(failed))
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
