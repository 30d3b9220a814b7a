//! An activity's concern domain is its coded concern's, from the catalogue: a domain extension that
//! says otherwise is refused on every write of a CarePlan (PCSP profile claimed or not), and one
//! already stored (written by an older version) is ignored by the consent decision.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::sharing::*;

/// Ann, a housing provider she permitted to see the `practical` domain, and a link service.
struct World {
    app: TestApp,
    ann: String,
    housing: String,
}

async fn world(app: TestApp) -> World {
    let link = app.create_id(&org("Link service", "L0001")).await;
    let housing = app.create_id(&org("Housing", "H0001")).await;
    let ann = app
        .create_id(
            &json!({"resourceType": "Patient", "name": [{"family": "Ann"}],
            "managingOrganization": {"reference": format!("Organization/{link}")}}),
        )
        .await;
    let permit = consent(
        &ann,
        json!({"type": "permit",
            "actor": [role_actor("housing", Some(&housing))],
            "securityLabel": [{"system": format!("{CANON}/CodeSystem/hna-domain"), "code": "practical"}]}),
    );
    let token = app.token_for("link-worker", Some("L0001"), None);
    app.send_json_as(&token, Method::POST, "Consent", &permit)
        .await
        .assert_status(201);
    World { app, ann, housing }
}

impl World {
    /// A plan (no PCSP profile) with a housing activity and a fear activity whose domain extension
    /// says `practical` (the catalogue says `emotional`), both performed by the housing provider.
    fn contradicting_plan(&self) -> Value {
        plan(
            &self.ann,
            "gp",
            vec![
                activity("practical", "housing", Some(&self.housing)),
                activity("practical", "worry-fear-anxiety", Some(&self.housing)),
            ],
        )
    }

    fn honest_plan(&self) -> Value {
        plan(
            &self.ann,
            "gp",
            vec![
                activity("practical", "housing", Some(&self.housing)),
                activity("emotional", "worry-fear-anxiety", Some(&self.housing)),
            ],
        )
    }
}

const AT: &str = "CarePlan.activity[1].detail.extension[0]";

fn pcsp(mut plan: Value) -> Value {
    plan["meta"] = json!({"profile": [format!("{CANON}/StructureDefinition/pcsp-careplan")]});
    plan["category"] =
        json!([{"coding": [{"system": "http://snomed.info/sct", "code": "734163000"}]}]);
    plan["status"] = json!("draft");
    plan
}

on_both_backends! {
    /// Create, update, conditional create and update, transaction and batch entries: each refuses a
    /// domain extension contradicting the concern with 422 naming the extension, and writes nothing.
    async fn a_domain_extension_contradicting_the_concern_is_refused_on_every_write(app: TestApp) {
        let w = world(app).await;
        let app = &w.app;
        let bad = w.contradicting_plan();
        let before = app.version_count().await;

        assert_outcome(&app.create(&bad).await, 422, "business-rule", Some(AT));
        assert_outcome(&app.create(&pcsp(bad.clone())).await, 422, "business-rule", Some(AT));
        let r = app
            .create_with(&bad, &[("if-none-exist", "identifier=urn:x|1")])
            .await;
        assert_outcome(&r, 422, "business-rule", Some(AT));
        let r = app
            .send_json(Method::PUT, &format!("CarePlan?subject=Patient/{}", w.ann), &bad, &[])
            .await;
        assert_outcome(&r, 422, "business-rule", Some(AT));
        let mut put = bad.clone();
        put["id"] = json!("plan-1");
        assert_outcome(&app.update(&put).await, 422, "business-rule", Some(AT));
        let entry = |plan: &Value| json!({"resource": plan, "request": {"method": "POST", "url": "CarePlan"}});
        let tx = json!({"resourceType": "Bundle", "type": "transaction",
            "entry": [entry(&w.honest_plan()), entry(&bad)]});
        assert_outcome(
            &app.bundle(&tx).await,
            422,
            "business-rule",
            Some("Bundle.entry[1].resource.activity[1].detail.extension[0]"),
        );
        let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [entry(&bad)]});
        let r = app.bundle(&batch).await;
        r.assert_status(200);
        let e = &r.entries()[0];
        assert_eq!(e["response"]["status"].as_str().map(|s| &s[..3]), Some("422"), "{e}");
        assert_eq!(e["response"]["outcome"]["issue"][0]["expression"][0], AT, "{e}");
        assert_eq!(app.version_count().await, before, "nothing was written");

        // The same plan with the catalogue's domain is accepted, and so is an activity with no
        // coded concern, whatever its extension says.
        app.create(&w.honest_plan()).await.assert_status(201);
        let mut uncoded = w.honest_plan();
        uncoded["activity"][1]["detail"]
            .as_object_mut()
            .expect("detail")
            .remove("reasonCode");
        app.create(&uncoded).await.assert_status(201);
    }
}

on_both_backends! {
    /// A contradicting plan written by an older version (straight into the store) is decided by
    /// the catalogue: housing, permitted `practical`, does not get the emotional activity.
    async fn a_stored_contradicting_plan_is_decided_by_the_concerns_domain(app: TestApp) {
        let w = world(app).await;
        let app = &w.app;
        let id = "legacy-plan";
        let mut body = w.contradicting_plan();
        body["id"] = json!(id);
        body["meta"] = json!({"versionId": "1", "lastUpdated": "2025-01-01T00:00:00Z"});
        let write = carebridge::store::VersionWrite {
            index: carebridge::search::extract_with_base(
                carebridge::fhir::ResourceType::CarePlan,
                &body,
                &app.base,
            ),
            resource: carebridge::store::StoredResource {
                rtype: carebridge::fhir::ResourceType::CarePlan,
                id: id.to_owned(),
                version: 1,
                last_updated: 1_735_689_600_000,
                deleted: false,
                body: body.to_string(),
            },
            method: carebridge::store::WriteMethod::Create,
        };
        let store = carebridge::store::Store::open(&app.database_url)
            .await
            .expect("the database opens");
        store
            .transaction(move |tx| tx.put(&write))
            .await
            .expect("written past the API");

        let housing = app.token_for("housing", Some("H0001"), None);
        let read = app
            .send(app.anonymous(Method::GET, &format!("CarePlan/{id}")).bearer_auth(&housing))
            .await;
        read.assert_status(200);
        assert_eq!(concerns(&read.json()), vec!["housing"], "{}", read.text);
        let found = app
            .send(app.anonymous(Method::GET, "CarePlan").bearer_auth(&housing))
            .await;
        found.assert_status(200);
        let plans: Vec<Value> = found.entries().iter().map(|e| e["resource"].clone()).collect();
        assert_eq!(plans.len(), 1, "{}", found.text);
        assert_eq!(concerns(&plans[0]), vec!["housing"]);
        // The system caller still sees the plan as stored.
        assert_eq!(concerns(&app.get(&format!("CarePlan/{id}")).await.json()).len(), 2);
    }
}
