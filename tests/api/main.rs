//! API tests (skeleton while compiling dependencies).
#[test]
fn placeholder() {}
