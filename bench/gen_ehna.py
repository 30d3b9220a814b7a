#!/usr/bin/env python3
"""Generates an eHNA export (import/README.md) with N assessments for the import benchmark.

    python3 bench/gen_ehna.py 100000 /tmp/ehna-100k.csv [--seed 1]

Deterministic for a seed. About two thirds of people have one HNA and a third have two (48-99 days
apart, as in the evaluations); each HNA scores 1-8 concerns, with actions on about half of them and a
care plan (1-3 days later) when there is an action; NHS numbers are valid test numbers (999...).
Standard library only.
"""
import argparse
import csv
import datetime
import os
import random

HEADER = [
    "assessment_id", "nhs_number", "family_name", "given_name", "birth_date", "sex",
    "organisation_ods", "organisation_name", "assessment_date", "point_of_pathway", "setting",
    "distress_score", "concern_code", "severity", "action_type", "care_plan_date", "shared_with_gp",
]
ORGS = [("S08000027", "Dundee Macmillan Link Service"), ("S08000029", "Fife Macmillan Partnership")]
PATHWAY = ["diagnosis", "start-of-treatment", "during-treatment", "end-of-treatment", "recurrence",
           "palliative"]
SETTINGS = ["home", "community", "hospital", "gp-practice", "telephone", "video"]
ACTIONS = ["discussion", "information-advice", "signposting", "referral"]
FAMILY = ["Campbell", "Reid", "Kerr", "Murray", "Stewart", "Robson", "Hall", "Bell", "Smith", "Brown"]
GIVEN = ["Morag", "Alasdair", "Elspeth", "Iain", "Catriona", "Terry", "Linda", "George", "Susan"]


def concern_codes():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "profiles", "source", "concerns.csv"), newline="") as f:
        return [row["code"] for row in csv.DictReader(f)]


def nhs_numbers():
    """Valid NHS numbers 999xxxxxxx in order (Modulus 11 check digit; 10 is skipped)."""
    i = 0
    while True:
        n9 = "999%06d" % i
        i += 1
        total = sum(int(d) * w for d, w in zip(n9, range(10, 1, -1)))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            yield n9 + str(check)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int, help="assessments to generate")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    codes = concern_codes()
    numbers = nhs_numbers()
    start = datetime.date(2022, 1, 1)
    made = 0
    rows = 0
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        while made < args.count:
            nhs = next(numbers)
            person = [nhs, rnd.choice(FAMILY), rnd.choice(GIVEN),
                      (datetime.date(1935, 1, 1) + datetime.timedelta(days=rnd.randrange(20000))).isoformat(),
                      rnd.choice("MF")]
            org = rnd.choice(ORGS)
            when = start + datetime.timedelta(days=rnd.randrange(600))
            for _ in range(2 if rnd.random() < 0.33 else 1):
                if made >= args.count:
                    break
                made += 1
                concerns = rnd.sample(codes, rnd.randint(1, 8))
                actions = [rnd.choice(ACTIONS) if rnd.random() < 0.5 else "" for _ in concerns]
                plan = ""
                if any(actions):
                    plan = (when + datetime.timedelta(days=rnd.randint(0, 3))).isoformat()
                shared = "Y" if plan and rnd.random() < 0.6 else "N"
                head = ["E%07d" % made] + person + list(org) + [
                    when.isoformat(), rnd.choice(PATHWAY), rnd.choice(SETTINGS), rnd.randint(0, 10)]
                for code, action in zip(concerns, actions):
                    w.writerow(head + [code, rnd.randint(1, 10), action, plan, shared])
                    rows += 1
                when += datetime.timedelta(days=rnd.randint(48, 99))
    print(f"{args.out}: {made} assessments, {rows} rows")


if __name__ == "__main__":
    main()
