//! Reading a reference: the id it gives for a resource type, whatever form the reference takes.

/// The id in a reference to `rtype`: `Type/id`, an absolute `.../Type/id`, either with `/_history/n`.
pub fn ref_id<'a>(reference: &'a str, rtype: &str) -> Option<&'a str> {
    let r = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let (head, id) = r.rsplit_once('/')?;
    let t = head.rsplit('/').next()?;
    (t == rtype && !id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::ref_id;

    #[test]
    fn references_name_their_type() {
        assert_eq!(ref_id("Patient/p1", "Patient"), Some("p1"));
        assert_eq!(
            ref_id("http://x/fhir/Patient/p1/_history/2", "Patient"),
            Some("p1")
        );
        assert_eq!(ref_id("Group/g", "Patient"), None);
        assert_eq!(ref_id("urn:uuid:1", "Patient"), None);
    }
}
