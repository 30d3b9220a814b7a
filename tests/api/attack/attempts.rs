//! A refused or hidden access leaves an event that names what was asked for and whose it is, so
//! information governance can find it by patient and by record; the caller learns nothing of it.

use serde_json::Value;

use super::super::world::*;

async fn audit_search(w: &World, query: &str) -> Vec<Value> {
    let auditor = w.app.token_for("auditor", None, None);
    let r = w.get_as(&auditor, &format!("AuditEvent?{query}")).await;
    r.assert_status(200);
    r.entries()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn by_org(events: &[Value], ods: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["agent"][0]["role"][1]["coding"][0]["code"] == ods)
        .cloned()
        .collect()
}

on_both_backends! {
    /// Another practice's attempt to read Ann's plan is answered as for a missing plan, and the
    /// auditor finds it by Ann and by the plan; so are a scope refusal and a refused write.
    async fn refused_and_hidden_accesses_are_found_by_patient_and_record(app: TestApp) {
        let w = world_on(app).await;
        let plan = format!("CarePlan/{}", w.ann_plan);
        let hidden = w.get_as(&w.other_gp(), &plan).await;
        let missing = w.get_as(&w.other_gp(), "CarePlan/no-such-plan").await;
        assert_eq!(hidden.status, 404);
        assert_eq!(
            hidden.text.replace(&w.ann_plan, "ID"),
            missing.text.replace("no-such-plan", "ID"),
            "a hidden plan reads exactly as a missing one"
        );
        let by_patient = by_org(&audit_search(&w, &format!("patient={}", w.ann)).await, "B82002");
        assert_eq!(by_patient.len(), 1, "found by patient");
        assert_eq!(by_patient[0]["outcome"], "4");
        let by_entity = by_org(&audit_search(&w, &format!("entity={plan}")).await, "B82002");
        assert_eq!(by_entity.len(), 1, "found by the record");
        assert!(by_entity[0].to_string().contains("requested; not disclosed"));

        // A scope refusal (403) names the record and its patient too.
        let patients_only = w.app.token_with_scope("gp", Some("A81001"), "user/Patient.rs");
        w.get_as(&patients_only, &plan).await.assert_status(403);
        let events = audit_search(&w, &format!("entity={plan}&outcome=4")).await;
        let refused = by_org(&events, "A81001");
        assert_eq!(refused.len(), 1, "{events:?}");
        assert!(refused[0].to_string().contains(&format!("Patient/{}", w.ann)));

        // A search by patient names the patient, whatever it found.
        w.get_as(&w.other_gp(), &format!("CarePlan?patient={}", w.ann)).await.assert_status(200);
        let searches = by_org(&audit_search(&w, &format!("patient={}&subtype=search-type", w.ann)).await, "B82002");
        assert_eq!(searches.len(), 1);
    }
}
