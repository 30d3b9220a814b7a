//! Throwaway timing harness (not to be committed).
use serde_json::json;
use std::time::Instant;

fn main() {
    let items: Vec<_> = (0..50)
        .map(|i| {
            if i % 5 == 0 {
                json!({"linkId": format!("g{i}"), "text": "Group", "item": [
                    {"linkId": format!("g{i}.1"), "answer": [{"valueString": "some free text answer"}]},
                    {"linkId": format!("g{i}.2"), "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5", "display": "Not at all"}}]}
                ]})
            } else if i % 2 == 0 {
                json!({"linkId": format!("q{i}"), "text": "How many days?", "answer": [{"valueInteger": i}]})
            } else {
                json!({"linkId": format!("q{i}"), "text": "Describe", "answer": [{"valueString": "a moderately long answer string"}]})
            }
        })
        .collect();
    let qr = json!({
        "resourceType": "QuestionnaireResponse", "id": "qr1", "status": "completed",
        "questionnaire": "https://example.org/Questionnaire/phq9",
        "subject": {"reference": "Patient/123"}, "authored": "2024-05-01T10:15:00Z",
        "item": items
    });
    let bytes = serde_json::to_vec(&qr).unwrap_or_default();
    println!("body: {} bytes", bytes.len());
    assert_eq!(
        carebridge_model::validate("QuestionnaireResponse", &qr),
        Ok(())
    );
    let mut bad = qr.clone();
    bad["item"][7]["answer"][0]["bogus"] = json!(1);
    for (name, value) in [("valid", &qr), ("unknown element", &bad)] {
        let n = 2000;
        let start = Instant::now();
        for _ in 0..n {
            let _ = std::hint::black_box(carebridge_model::validate(
                "QuestionnaireResponse",
                std::hint::black_box(value),
            ));
        }
        println!(
            "{name}: {:.1} us per validate",
            start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
    }
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        let v: serde_json::Value =
            serde_json::from_slice(std::hint::black_box(&bytes)).unwrap_or_default();
        std::hint::black_box(v);
    }
    println!(
        "baseline serde_json::from_slice of same body: {:.1} us",
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}
