#!/usr/bin/env python3
"""Seeds a carebridge server with N resources through its FHIR API (python3 stdlib only).

    python3 bench/seed.py --base-url http://127.0.0.1:8080/fhir --count 10000 --ids-out ids.txt

Resources go in as `transaction` Bundles (~300 resources each, 4 in flight by default). The mix is
one Patient per 25 resources; every patient has QuestionnaireResponses (HNAs) and CarePlans that
reference it, linked inside the bundle by urn:uuid fullUrls. About 200 patients spread over the
data set ("search patients") get exactly 20 QuestionnaireResponses each; the others get 8-22.

--ids-out writes the ids the wrk scenarios use, one per line:
    read <patient id>      up to 500 patients spread over the data set (read scenario)
    search <patient id>    the search patients (exactly 20 QuestionnaireResponses each)
"""

import argparse
import concurrent.futures as cf
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

# The gateway needs a bearer token; the benchmark scripts mint one (`carebridge token`).
AUTH = ({"Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}
        if os.environ.get("BENCH_TOKEN") else {})

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402

GROUP = 25                 # resources per patient: 1 Patient + 24 QR/CarePlan
SEARCH_MATCHES = 20        # QuestionnaireResponses per search patient
MAX_SEARCH_IDS = 200
MAX_READ_IDS = 500
FHIR_JSON = "application/fhir+json"


def plan_groups(count: int, rng: random.Random):
    """Yields (patient_index, n_qr, n_careplan, is_search) until exactly `count` resources."""
    patients = max(1, -(-count // GROUP))
    search_stride = max(1, patients // MAX_SEARCH_IDS)
    read_stride = max(1, patients // MAX_READ_IDS)
    remaining = count
    for i in range(patients):
        is_search = i % search_stride == 0 and i // search_stride < MAX_SEARCH_IDS
        if is_search:
            n_qr = SEARCH_MATCHES
        else:
            n_qr = rng.randint(8, 22)
        n_cp = GROUP - 1 - n_qr
        size = 1 + n_qr + n_cp
        if size > remaining:  # the last, partial group: never a search patient unless it fits
            n_qr = min(n_qr, remaining - 1)
            n_cp = remaining - 1 - n_qr
            is_search = is_search and n_qr == SEARCH_MATCHES
        remaining -= 1 + n_qr + n_cp
        yield i, n_qr, n_cp, is_search, i % read_stride == 0
        if remaining <= 0:
            return


def build_group(rng, nhs, n_qr, n_cp, qr_items, activities):
    p = fx.urn()
    entries = [fx.entry(p, fx.patient(rng, nhs))]
    qrs = []
    for _ in range(n_qr):
        q = fx.urn()
        qrs.append(q)
        entries.append(fx.entry(q, fx.questionnaire_response(rng, p, qr_items)))
    for _ in range(n_cp):
        hna = qrs[-1] if qrs else p  # cites the latest HNA (the patient itself in a partial last group)
        entries.append(fx.entry(fx.urn(), fx.care_plan(rng, p, hna, activities)))
    return entries


def bundles(args):
    """Yields (bundle_json_bytes, [(entry_index, is_search, is_read)] for each patient, n_resources)."""
    rng = random.Random(args.random_seed)
    nhs_numbers = fx.valid_nhs_numbers(args.nhs_offset)
    entries, marks = [], []
    for _i, n_qr, n_cp, is_search, is_read in plan_groups(args.count, rng):
        if entries and len(entries) + 1 + n_qr + n_cp > args.bundle_size:
            yield json.dumps(fx.transaction(entries), separators=(",", ":")).encode(), marks, len(entries)
            entries, marks = [], []
        marks.append((len(entries), is_search, is_read))
        entries.extend(build_group(rng, next(nhs_numbers), n_qr, n_cp, args.qr_items, args.activities))
    if entries:
        yield json.dumps(fx.transaction(entries), separators=(",", ":")).encode(), marks, len(entries)


def id_from_location(location: str) -> str:
    """`Patient/abc/_history/1` (or an absolute URL ending so) -> `abc`."""
    parts = location.rstrip("/").split("/")
    if "_history" in parts:
        return parts[parts.index("_history") - 1]
    return parts[-1]


def post_bundle(base_url, body, timeout, retries=3):
    delay = 1.0
    for attempt in range(retries + 1):
        req = urllib.request.Request(base_url, data=body, method="POST",
                                     headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, **AUTH})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code < 500 or attempt == retries:
                raise RuntimeError(f"transaction rejected: HTTP {e.code}\n{detail[:4000]}") from None
            print(f"  retrying after HTTP {e.code}: {detail[:300]}", file=sys.stderr)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            if attempt == retries:
                raise RuntimeError(f"transaction failed: {e}") from None
            print(f"  retrying after {e}", file=sys.stderr)
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def get_json(url, timeout=60):
    req = urllib.request.Request(url, headers={"Accept": FHIR_JSON, **AUTH})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def verify(base_url, read_ids, search_ids):
    """Reads one patient back and checks that a search patient has exactly 20 HNAs."""
    ok = True
    if read_ids:
        p = get_json(f"{base_url}/Patient/{read_ids[0]}")
        if p.get("resourceType") != "Patient" or p.get("id") != read_ids[0]:
            print(f"verify: read Patient/{read_ids[0]} returned {json.dumps(p)[:300]}", file=sys.stderr)
            ok = False
    if search_ids:
        pid = search_ids[len(search_ids) // 2]
        b = get_json(f"{base_url}/QuestionnaireResponse?subject=Patient/{pid}&_count=50")
        got = len(b.get("entry", []))
        if got != SEARCH_MATCHES:
            print(f"verify: search for Patient/{pid} found {got} QuestionnaireResponses on the first page "
                  f"(total={b.get('total')}), expected {SEARCH_MATCHES}", file=sys.stderr)
            ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="FHIR base, e.g. http://127.0.0.1:8080/fhir")
    ap.add_argument("--count", type=int, required=True, help="number of resources to create")
    ap.add_argument("--ids-out", required=True, help="file to write the read/search ids to")
    ap.add_argument("--bundle-size", type=int, default=300, help="max resources per bundle (default 300)")
    ap.add_argument("--threads", type=int, default=4, help="bundles in flight (default 4)")
    ap.add_argument("--qr-items", type=int, default=20, help="items per seeded QuestionnaireResponse")
    ap.add_argument("--activities", type=int, default=5, help="activities per seeded CarePlan")
    ap.add_argument("--random-seed", type=int, default=20240601)
    ap.add_argument("--nhs-offset", type=int, default=0, help="start of the 999 NHS number range")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per bundle request")
    ap.add_argument("--no-verify", action="store_true", help="skip the read/search check at the end")
    args = ap.parse_args()
    base_url = args.base_url.rstrip("/")
    if args.count < 1:
        ap.error("--count must be at least 1")

    read_ids, search_ids = [], []
    done = 0
    lock = threading.Lock()
    start = last_report = time.monotonic()

    def run(body, marks, n):
        resp = post_bundle(base_url, body, args.timeout)
        rentries = resp.get("entry", [])
        if resp.get("type") != "transaction-response" or len(rentries) != n:
            raise RuntimeError(f"unexpected transaction response ({len(rentries)} entries for {n}): "
                               f"{json.dumps(resp)[:1000]}")
        got = []
        for idx, is_search, is_read in marks:
            r = rentries[idx].get("response", {})
            loc = r.get("location", "")
            if not loc.startswith("Patient/") and "/Patient/" not in loc:
                raise RuntimeError(f"entry {idx}: expected a Patient location, got {json.dumps(r)}")
            got.append((id_from_location(loc), is_search, is_read))
        return got, n

    with cf.ThreadPoolExecutor(max_workers=args.threads) as pool:
        pending = set()

        def drain(block_until):
            nonlocal done, last_report
            finished, rest = cf.wait(pending, return_when=block_until)
            for fut in finished:
                got, n = fut.result()  # re-raises a failed bundle
                for pid, is_search, is_read in got:
                    if is_search:
                        search_ids.append(pid)
                    if is_read:
                        read_ids.append(pid)
                done += n
            now = time.monotonic()
            if now - last_report >= 5 or not rest:
                el = now - start
                print(f"  seeded {done}/{args.count} resources ({100.0 * done / args.count:.1f}%), "
                      f"{done / el:.0f} resources/s, {el:.0f}s", flush=True)
                last_report = now
            return rest

        for body, marks, n in bundles(args):
            pending.add(pool.submit(run, body, marks, n))
            if len(pending) >= args.threads * 2:
                pending = drain(cf.FIRST_COMPLETED)
        while pending:
            pending = drain(cf.FIRST_COMPLETED)

    elapsed = time.monotonic() - start
    print(f"seeded {done} resources in {elapsed:.1f}s ({done / elapsed:.0f} resources/s): "
          f"{len(read_ids)} read ids, {len(search_ids)} search ids", flush=True)
    if not search_ids:
        print("warning: no patient with exactly 20 QuestionnaireResponses (count too small?)", file=sys.stderr)

    tmp = args.ids_out + ".tmp"
    with open(tmp, "w") as f:
        for pid in read_ids:
            f.write(f"read {pid}\n")
        for pid in search_ids:
            f.write(f"search {pid}\n")
    os.replace(tmp, args.ids_out)

    if not args.no_verify and not verify(base_url, read_ids, search_ids):
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"seed failed: {e}", file=sys.stderr)
        sys.exit(1)
