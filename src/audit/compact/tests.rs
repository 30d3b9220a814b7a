use super::*;
use crate::audit::event::{Agent, Disclosed, Record};

fn gp() -> Agent {
    Agent {
        sub: "dr-jones".into(),
        user: Some("Practitioner/gp-1".into()),
        role: "gp".into(),
        org: Some("A81001".into()),
        purpose: "TREAT".into(),
    }
}

fn gp_read() -> Record {
    Record {
        recorded: 1_764_000_000_123,
        method: "GET".into(),
        path: "/CarePlan/plan-1".into(),
        status: 200,
        agent: Some(gp()),
        patients: vec!["pat-1".into()],
        disclosed: vec![Disclosed {
            reference: "CarePlan/plan-1/_history/3".into(),
            redacted: true,
            patient: Some("pat-1".into()),
        }],
        consents: vec!["consent-1".into()],
        interaction: Some("read".into()),
        target: Some("CarePlan/plan-1".into()),
        trace: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        ..Record::default()
    }
}

/// Numbers texts as a store would (1, 2, ... in order of first use) and reads them back.
#[derive(Default)]
struct Terms(Vec<String>);

impl Terms {
    fn number(&mut self, t: &str) -> Result<u64, ()> {
        let at = match self.0.iter().position(|x| x == t) {
            Some(i) => i,
            None => {
                self.0.push(t.to_owned());
                self.0.len() - 1
            }
        };
        Ok(at as u64 + 1)
    }
    fn text(&self, n: u64) -> Option<&str> {
        self.0
            .get(usize::try_from(n).ok()?.checked_sub(1)?)
            .map(String::as_str)
    }
}

fn round_trip(r: &Record) -> Option<(Record, usize)> {
    let draft = Draft::of(r, &r.to_text(), r.agent.as_ref())?;
    let mut terms = Terms::default();
    let bytes = draft.write(|t| terms.number(t)).ok()?;
    let back = read(&bytes, r.recorded, r.agent.clone(), |n| terms.text(n))?;
    Some((back, bytes.len()))
}

/// A read's event comes back exactly from about 25 bytes.
#[test]
fn a_read_comes_back_exactly_from_a_few_bytes() {
    let r = gp_read();
    let (back, len) = round_trip(&r).expect("compact");
    assert_eq!(back, r);
    assert_eq!(back.to_text(), r.to_text());
    assert!(len <= 40, "{len} bytes");
    assert!(r.to_text().len() > 300);
}

/// Every field and shape survives: searches with queries, writes, unknown methods and
/// interactions, break-glass, attempted resources, traces not in the gateway's spelling, a path
/// that is not the target's.
#[test]
fn every_field_comes_back() {
    let mut r = gp_read();
    r.method = "PROPFIND".into();
    r.path = "/CarePlan".into();
    r.query = "subject=Patient/pat-1&_count=*".into();
    r.status = 404;
    r.interaction = Some("something-new".into());
    r.target = Some("CarePlan".into());
    r.break_glass = Some("unconscious".into());
    r.attempted = vec![Disclosed {
        reference: "Goal/g/_history/1".into(),
        redacted: false,
        patient: None,
    }];
    r.trace = Some("NOT-A-TRACE".into());
    r.patients.push(String::new());
    let (back, _) = round_trip(&r).expect("compact");
    assert_eq!(back, r);
    r.interaction = None;
    r.target = None;
    r.trace = None;
    r.agent = None;
    let (back, _) = round_trip(&r).expect("compact");
    assert_eq!(back, r);
}

/// A text the record does not render exactly (another field order, a caller the row would not
/// give back) has no compact form: it is stored as text.
#[test]
fn a_text_that_would_not_come_back_exactly_has_no_compact_form() {
    let r = gp_read();
    let text = r.to_text();
    let reordered = text.replacen("{\"t\":", "{ \"t\":", 1);
    assert!(Draft::of(&r, &reordered, r.agent.as_ref()).is_none());
    assert!(Draft::of(&r, &text, None).is_none());
    let mut empty_user = r.clone();
    if let Some(a) = empty_user.agent.as_mut() {
        a.user = Some(String::new());
    }
    let row_agent = Agent { user: None, ..gp() };
    assert!(Draft::of(&empty_user, &empty_user.to_text(), Some(&row_agent)).is_none());
}

/// Damaged bytes decode to nothing, never to a wrong record or a panic; `terms` names what a
/// body uses.
#[test]
fn damaged_bytes_decode_to_nothing() {
    let r = gp_read();
    let draft = Draft::of(&r, &r.to_text(), r.agent.as_ref()).expect("compact");
    let mut terms = Terms::default();
    let bytes = draft.write(|t| terms.number(t)).expect("bytes");
    let used = super::terms(&bytes);
    assert_eq!(used.len(), draft.texts().filter(|t| !t.is_empty()).count());
    for cut in 0..bytes.len() {
        assert!(read(&bytes[..cut], r.recorded, None, |n| terms.text(n)).is_none());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(read(&longer, r.recorded, None, |n| terms.text(n)).is_none());
    assert!(read(&bytes, r.recorded, None, |_| None).is_none());
    let mut flipped = bytes.clone();
    flipped[0] = 7;
    assert!(read(&flipped, r.recorded, None, |n| terms.text(n)).is_none());
}
