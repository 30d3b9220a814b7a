//! The concern catalogue (`profiles/source/concerns.csv`, from the domain reference): every concern an
//! HNA can score, with its domain. Compiled in, so the gateway and its tools agree on one list.

use std::sync::LazyLock;

/// The catalogue as shipped.
const CSV: &str = include_str!("../../profiles/source/concerns.csv");

/// One concern of the HNA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concern {
    /// Stable code, also the questionnaire item's linkId (`breathing`).
    pub code: String,
    /// Domain code (`physical`, `practical`, `family`, `emotional`, `spiritual`, `lifestyle`).
    pub domain: String,
    /// Text shown to the person.
    pub display: String,
    /// Where the item comes from (`NCSI 2012`, `local addition`).
    pub source: String,
}

/// The domains, in questionnaire order, with their display names.
pub const DOMAINS: &[(&str, &str)] = &[
    ("physical", "Physical concerns"),
    (
        "practical",
        "Practical concerns (including money and housing)",
    ),
    ("family", "Family and relationship concerns"),
    ("emotional", "Emotional concerns"),
    ("spiritual", "Spiritual or religious concerns"),
    ("lifestyle", "Lifestyle and information"),
];

/// Domains never shared outside health care unless a consent provision names them.
pub const SENSITIVE_DOMAINS: &[&str] = &["emotional", "spiritual", "family"];

static CONCERNS: LazyLock<Vec<Concern>> = LazyLock::new(|| parse(CSV));

/// Every concern, in catalogue order.
pub fn concerns() -> &'static [Concern] {
    &CONCERNS
}

/// The concern with `code`.
pub fn concern(code: &str) -> Option<&'static Concern> {
    CONCERNS.iter().find(|c| c.code == code)
}

/// Parses the catalogue: `code,domain,display,source` with a header row; displays may be quoted.
fn parse(csv: &str) -> Vec<Concern> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let fields = split_csv_line(line);
            match fields.as_slice() {
                [code, domain, display, source] => Some(Concern {
                    code: code.clone(),
                    domain: domain.clone(),
                    display: display.clone(),
                    source: source.clone(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Splits one CSV line, honouring double quotes (`""` inside quotes is a quote).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                push(&mut fields, '"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => push(&mut fields, c),
        }
    }
    fields
}

fn push(fields: &mut [String], c: char) {
    if let Some(last) = fields.last_mut() {
        last.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_every_concern_in_a_known_domain() {
        assert_eq!(concerns().len(), 54);
        for c in concerns() {
            assert!(DOMAINS.iter().any(|(d, _)| *d == c.domain), "{}", c.code);
        }
        assert_eq!(
            concern("worry-fear-anxiety").map(|c| c.display.as_str()),
            Some("Worry, fear or anxiety")
        );
        assert_eq!(
            concern("breathing").map(|c| c.domain.as_str()),
            Some("physical")
        );
    }

    #[test]
    fn quoted_fields_keep_their_commas() {
        assert_eq!(split_csv_line(r#"a,"b, c",d"#), vec!["a", "b, c", "d"]);
        assert_eq!(
            split_csv_line(r#""say ""hi""",x"#),
            vec![r#"say "hi""#, "x"]
        );
    }
}
