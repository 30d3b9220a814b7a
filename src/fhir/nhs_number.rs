//! NHS number check digit (Modulus 11), per the NHS Data Dictionary (domain.md, "Identifiers").

/// The identifier system of NHS numbers.
pub const SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// True when `s` is ten digits whose last digit is the Modulus 11 check digit of the first nine.
pub fn is_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || s.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == digits[9]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_number() {
        assert!(is_valid("9434765919"));
        assert!(is_valid("9990000018"));
    }

    #[test]
    fn rejects_a_wrong_check_digit_and_bad_shapes() {
        assert!(!is_valid("9434765918"));
        assert!(!is_valid("943476591"));
        assert!(!is_valid("943 476 5919"));
        assert!(!is_valid("94347659190"));
        assert!(!is_valid("943476591a"));
    }

    #[test]
    fn a_remainder_of_one_is_never_valid() {
        // 000000001x: sum = 1*2 = 2 -> 11 - 2 = 9 valid; find a ten case: digits summing to 1 mod 11.
        // 1000000000..: weights 10 -> sum 10 -> 11-10 = 1. "0000000060": 6*2=12 -> 12%11=1 -> 10 -> invalid.
        for last in 0..10 {
            assert!(!is_valid(&format!("000000006{last}")));
        }
    }
}
