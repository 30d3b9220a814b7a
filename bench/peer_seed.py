#!/usr/bin/env python3
"""Seeds bench/peer.sh's two servers for the side-by-side run (python3 stdlib only).

    peer_seed.py CB_BASE SYSTEM_TOKEN GP_TOKEN PEER_BASE DATA_DIR [PATIENTS] [MATCHES] [PARAM]

CB_BASE is carebridge's FHIR base, already seeded with the consent world (bench/consent_seed.py,
which wrote DATA_DIR/paths-read.txt: the plans practice P00001 shares with its GP); PEER_BASE is
the peer's (bench/peer/server.mjs), empty.

1. In carebridge, with the system token: MATCHES HNAs (QuestionnaireResponses of 20 scored
   concerns, bench/fixtures.py) for each of the first PATIENTS patients of P00001 (the subjects
   of the plans in paths-read.txt, in that order), one transaction per patient.
2. Copies every resource of the world out of carebridge (system search, `_count=1000`, following
   `next`) into the peer by `PUT Type/id`, so both hold the same resources under the same ids.
3. Writes DATA_DIR/paths-patient-search.txt: `/fhir/QuestionnaireResponse?PARAM=Patient/<id>&_count=20`
   for each of those patients (PARAM `subject`, the default, or `patient`: the same search).
4. Checks that the GP's search in carebridge and the same search in the peer each answer exactly
   MATCHES entries for every path, that the peer reads every plan of paths-read.txt, and prints
   the response sizes (one read, one search) of both servers.
"""
import http.client
import json
import os
import random
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402

FHIR_JSON = "application/fhir+json"
TYPES = ["Organization", "Patient", "CarePlan", "Consent", "QuestionnaireResponse"]


def request(url, token=None, method="GET", body=None):
    headers = {"Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = FHIR_JSON
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req) as r:
        raw = r.read()
    return json.loads(raw), len(raw)


def search_all(base, token, rtype):
    """Every resource of `rtype`, following the bundle's `next` links."""
    url = "%s/%s?_count=1000" % (base, rtype)
    while url:
        bundle, _ = request(url, token)
        for e in bundle.get("entry", []):
            if e.get("search", {}).get("mode", "match") == "match":
                yield e["resource"]
        url = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)


class Peer:
    """PUTs over one kept-alive connection."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.path = u.path.rstrip("/")
        self.conn = http.client.HTTPConnection(u.hostname, u.port)

    def put(self, resource):
        path = "%s/%s/%s" % (self.path, resource["resourceType"], urllib.parse.quote(resource["id"]))
        self.conn.request("PUT", path, json.dumps(resource), {"Content-Type": FHIR_JSON})
        r = self.conn.getresponse()
        body = r.read()
        if r.status not in (200, 201):
            sys.exit("peer refused PUT %s: %d %s" % (path, r.status, body[:300]))


def entries(bundle):
    return [e for e in bundle.get("entry", []) if e.get("search", {}).get("mode", "match") == "match"]


def main():
    cb, system, gp, peer_base, out = sys.argv[1:6]
    cb, peer_base = cb.rstrip("/"), peer_base.rstrip("/")
    patients = int(sys.argv[6]) if len(sys.argv) > 6 else 20
    matches = int(sys.argv[7]) if len(sys.argv) > 7 else 20
    param = sys.argv[8] if len(sys.argv) > 8 else "subject"
    with open(out + "/paths-read.txt") as f:
        read_paths = [l.strip() for l in f if l.strip()]

    # 1. The search patients: P00001's, in the order of their shared plans.
    chosen = []
    for p in read_paths:
        plan, _ = request(cb + p[len("/fhir"):], system)
        subject = plan["subject"]["reference"]
        if subject not in chosen:
            chosen.append(subject)
        if len(chosen) == patients:
            break
    if len(chosen) < patients:
        sys.exit("only %d patients of P00001, wanted %d" % (len(chosen), patients))
    rng = random.Random(18)
    for subject in chosen:
        bundle = fx.transaction([fx.entry(fx.urn(), fx.questionnaire_response(rng, subject, 20))
                                 for _ in range(matches)])
        request(cb + "/", system, "POST", bundle)

    # 2. The same resources, same ids, in the peer.
    peer = Peer(peer_base)
    copied = {}
    for rtype in TYPES:
        n = 0
        for resource in search_all(cb, system, rtype):
            peer.put(resource)
            n += 1
        copied[rtype] = n
    print("copied into the peer: " + ", ".join("%d %s" % (n, t) for t, n in copied.items()))

    # 3. The search paths.
    search_paths = ["/fhir/QuestionnaireResponse?%s=%s&_count=20" % (param, s) for s in chosen]
    with open(out + "/paths-patient-search.txt", "w") as f:
        f.write("\n".join(search_paths) + "\n")

    # 4. Both answer the same searches with MATCHES entries each, and the peer reads every plan.
    peer_root = peer_base[: -len("/fhir")] if peer_base.endswith("/fhir") else peer_base
    cb_root = cb[: -len("/fhir")]
    for p in search_paths:
        mine, _ = request(cb_root + p, gp)
        theirs, _ = request(peer_root + p, gp)
        got = (len(entries(mine)), mine.get("total"), len(entries(theirs)), theirs.get("total"))
        if got != (matches, matches, matches, matches):
            sys.exit("%s: carebridge (GP) %d entries, total %s; peer %d entries, total %s; expected %d"
                     % ((p,) + got + (matches,)))
    for p in read_paths:
        plan, _ = request(peer_root + p)
        if "/fhir/CarePlan/" + plan["id"] != p:
            sys.exit("peer read %s answered %s" % (p, plan.get("id")))
    # The GP sees P00001's shared plans whole: the same content as the peer's, meta aside.
    strip = lambda r: {k: v for k, v in r.items() if k != "meta"}
    same = strip(request(cb_root + read_paths[0], gp)[0]) == strip(request(peer_root + read_paths[0])[0])
    sizes = {}
    for name, root, token, path in [("carebridge", cb_root, gp, read_paths[0]), ("peer", peer_root, gp, read_paths[0]),
                                    ("carebridge", cb_root, gp, search_paths[0]), ("peer", peer_root, gp, search_paths[0])]:
        _, n = request(root + path, token)
        sizes.setdefault(name, []).append(n)
    print("checked: %d searches answer %d entries in both (carebridge as the GP: entries and total); "
          "the peer reads all %d plans" % (len(search_paths), matches, len(read_paths)))
    # One line for peer.sh's results file.
    print("SIZES " + json.dumps({"read_path": read_paths[0], "search_path": search_paths[0],
                                 "carebridge": sizes["carebridge"], "peer": sizes["peer"],
                                 "plans": len(read_paths), "copied": copied, "same_read_content": same}))


if __name__ == "__main__":
    main()
