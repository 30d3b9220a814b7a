"""What a link-worker, eHNA or hospital system sends: HNAs, PCSP care plans and referrals shaped as
the gateway's profiles require (README "Holistic needs assessments and care plans", "Referrals";
the same shapes as `src/sample.rs` writes)."""

CANON = "https://fhir.carebridge.uk"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
REDACTED = "REDACTED"
SHARED_WITH = f"{CANON}/StructureDefinition/pcsp-shared-with"


def hna(subject: dict, author: dict, scores=(7, 8, 9), authored="2026-12-01T10:00:00Z") -> dict:
    """A completed HNA (QuestionnaireResponse of the HNA Questionnaire): breathing, housing and
    money worries, worry/fear, the distress thermometer and what matters most."""
    breathing, practical, worry = scores

    def coding(system: str, code: str) -> list:
        return [{"valueCoding": {"system": f"{CANON}/CodeSystem/{system}", "code": code}}]

    return {
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [f"{CANON}/StructureDefinition/hna-questionnaireresponse"]},
        "questionnaire": f"{CANON}/Questionnaire/hna",
        "status": "completed",
        "subject": subject,
        "author": author,
        "authored": authored,
        "item": [
            {"linkId": "physical", "item": [{"linkId": "breathing", "answer": [{"valueInteger": breathing}]}]},
            {
                "linkId": "practical",
                "item": [
                    {"linkId": "housing", "answer": [{"valueInteger": practical}]},
                    {"linkId": "money-finance", "answer": [{"valueInteger": practical}]},
                ],
            },
            {"linkId": "emotional", "item": [{"linkId": "worry-fear-anxiety", "answer": [{"valueInteger": worry}]}]},
            {"linkId": "distress-thermometer", "answer": [{"valueInteger": worry}]},
            {"linkId": "what-matters-most", "answer": [{"valueString": "Getting back to work"}]},
            {"linkId": "point-of-pathway", "answer": coding("hna-point-of-pathway", "start-of-treatment")},
            {"linkId": "setting", "answer": coding("hna-setting", "community")},
            {"linkId": "completed-by", "answer": coding("hna-completed-by", "together")},
        ],
    }


def activity(domain: str, concern: str, action: str, performer: dict) -> dict:
    """A plan activity addressing `concern` (in `domain`), of action type `action`."""
    return {
        "detail": {
            "extension": [
                {
                    "url": f"{CANON}/StructureDefinition/concern-domain",
                    "valueCoding": {"system": f"{CANON}/CodeSystem/hna-domain", "code": domain},
                }
            ],
            "reasonCode": [{"coding": [{"system": f"{CANON}/CodeSystem/hna-concern", "code": concern}]}],
            "status": "not-started",
            "code": {"coding": [{"system": f"{CANON}/CodeSystem/pcsp-action-type", "code": action}]},
            "performer": [performer],
        }
    }


def plan(subject: dict, author: dict, hna: dict, activities: list, shared_with=("gp",), title="PCSP") -> dict:
    """A personalised care and support plan citing its HNA, shared with `shared_with` roles."""
    p = {
        "resourceType": "CarePlan",
        "meta": {"profile": [f"{CANON}/StructureDefinition/pcsp-careplan"]},
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": SNOMED, "code": "734163000"}]}],
        "title": title,
        "description": "Distress 9/10. What matters most: getting back to work",
        "subject": subject,
        "author": author,
        "supportingInfo": [hna],
        "activity": activities,
    }
    if shared_with:
        p["extension"] = [{"url": SHARED_WITH, "valueCode": role} for role in shared_with]
    return p


def referral(subject: dict, requester: dict, receiver: dict, concerns: list, note: str) -> dict:
    """A referral (profile referral-servicerequest) about `concerns`, with a free-text note."""
    return {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [f"{CANON}/StructureDefinition/referral-servicerequest"]},
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "3457005"}]}],
        "code": {"text": "Support with the concerns below"},
        "subject": subject,
        "authoredOn": "2026-12-02T09:30:00Z",
        "requester": requester,
        "performer": [receiver],
        "reasonCode": [{"coding": [{"system": f"{CANON}/CodeSystem/hna-concern", "code": c}]} for c in concerns],
        "note": [{"text": note}],
    }


def task(subject: dict, requester: dict, receiver: dict, focus: str) -> dict:
    """The referral's fulfilment Task (profile referral-task), owned by the receiver."""
    return {
        "resourceType": "Task",
        "meta": {"profile": [f"{CANON}/StructureDefinition/referral-task"]},
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": focus},
        "for": subject,
        "authoredOn": "2026-12-02T09:30:00Z",
        "requester": requester,
        "owner": receiver,
    }


def referral_transaction(subject: dict, requester: dict, receiver: dict, concerns: list, note: str) -> dict:
    """A transaction of the referral and its Task, the Task pointing at the referral's urn:uuid."""
    import uuid

    urn = f"urn:uuid:{uuid.uuid4()}"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": urn,
                "resource": referral(subject, requester, receiver, concerns, note),
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "resource": task(subject, requester, receiver, urn),
                "request": {"method": "POST", "url": "Task"},
            },
        ],
    }


def concerns_of(resource: dict) -> list:
    """The concern codes of a plan's activities or a referral's reasons, in order."""
    if resource.get("resourceType") == "CarePlan":
        reasons = [a.get("detail", {}).get("reasonCode", [{}])[0] for a in resource.get("activity", [])]
    else:
        reasons = resource.get("reasonCode", [])
    return [c["coding"][0]["code"] for c in reasons if c.get("coding")]


def is_redacted(resource: dict) -> bool:
    return any(s.get("code") == REDACTED for s in resource.get("meta", {}).get("security", []))
