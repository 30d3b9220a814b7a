#!/usr/bin/env python3
"""Bytes the audit trail takes in a SQLite store, per stored event (issue 18's figure).

    python3 bench/audit_bytes.py path/to/bench.db

Counts every page of the audit tables and their indexes (SQLite's dbstat), so the figure is what
the disk holds, not the length of the bodies. Stop the gateway (or let its copy settle) first.
"""
import sqlite3
import sys


def main(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = {
        name: table
        for name, table in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'")
    }
    sizes = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    audit = {n: b for n, b in sizes.items() if tables.get(n, "").startswith("audit_")}
    events = db.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0]
    total = sum(audit.values())
    for name, size in sorted(audit.items(), key=lambda kv: -kv[1]):
        per = size / events if events else 0
        print(f"{name:40} {size:>14,} bytes  {per:8.1f} per event")
    print(f"{'audit, all':40} {total:>14,} bytes  {total / max(events, 1):8.1f} per event ({events:,} events)")


if __name__ == "__main__":
    main(sys.argv[1])
