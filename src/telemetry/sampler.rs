//! Which requests are traced, decided before any span is made.
//!
//! Why not leave it to the SDK's sampler: the SDK decides once a span exists, so a request that is
//! not sampled has still paid for its `tracing` span, the layer's span builder and attributes, its
//! child spans, and the context lookups, which cost a quarter of the read path's throughput at a
//! 10% ratio (`bench/results/traces-*`). Deciding here, from the caller's `traceparent` and the
//! standard `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` variables, an unsampled request makes
//! no span at all; the SDK then samples every span it is given (its sampler is always on).
//!
//! The variables mean what the OpenTelemetry specification says: `always_on`, `always_off`,
//! `traceidratio`, and their `parentbased_` forms (the default is `parentbased_always_on`). A ratio
//! is decided on the trace id (its last 8 bytes, as the SDK's `TraceIdRatioBased`), so every
//! service that uses the same ratio keeps or drops the same traces.

/// A caller's W3C trace context (`traceparent`), as far as sampling and the audit need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traceparent {
    /// The trace id, 32 lowercase hex digits (never all zeros).
    pub trace_id: String,
    /// Whether the caller sampled the trace (flag `01`).
    pub sampled: bool,
}

impl Traceparent {
    /// Parses `version-traceid-parentid-flags`; `None` for anything the W3C format refuses (an
    /// invalid header is ignored, as the specification asks, and the request starts a new trace).
    pub fn parse(header: &str) -> Option<Traceparent> {
        let mut parts = header.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace, 32)
            && hex(parent, 16)
            && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0')
            && parent.bytes().any(|b| b != b'0')
            // Version 00 has exactly four fields; later versions may add more.
            && (version != "00" || parts.next().is_none());
        if !valid {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Traceparent {
            trace_id: trace.to_owned(),
            sampled: flags & 1 == 1,
        })
    }

    /// The number a ratio is compared with: the trace id's last 8 bytes.
    fn ratio_key(&self) -> u64 {
        u64::from_str_radix(&self.trace_id[16..], 16).unwrap_or(0)
    }
}

/// The sampling rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    /// Follow the caller's decision when there is a caller's trace.
    pub parent_based: bool,
    /// The share of traces kept where the rule decides itself (0 to 1).
    pub ratio: f64,
}

impl Default for Sampler {
    /// `parentbased_always_on`, the specification's default.
    fn default() -> Self {
        Sampler {
            parent_based: true,
            ratio: 1.0,
        }
    }
}

impl Sampler {
    /// The rule the two variables name; an unknown name or a bad ratio is an error (start-up says
    /// so, rather than tracing more or less than the operator asked).
    pub fn parse(name: Option<&str>, arg: Option<&str>) -> Result<Sampler, String> {
        let ratio = || -> Result<f64, String> {
            match arg.map(str::trim).filter(|a| !a.is_empty()) {
                None => Ok(1.0),
                Some(a) => a
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        format!("OTEL_TRACES_SAMPLER_ARG is a ratio from 0 to 1, not '{a}'")
                    }),
            }
        };
        let (parent_based, ratio) = match name.map(str::trim).unwrap_or("") {
            "" | "parentbased_always_on" => (true, 1.0),
            "parentbased_always_off" => (true, 0.0),
            "parentbased_traceidratio" => (true, ratio()?),
            "always_on" => (false, 1.0),
            "always_off" => (false, 0.0),
            "traceidratio" => (false, ratio()?),
            other => {
                return Err(format!(
                    "OTEL_TRACES_SAMPLER '{other}' is not one this gateway knows (always_on, always_off, traceidratio, or their parentbased_ forms)"
                ));
            }
        };
        Ok(Sampler {
            parent_based,
            ratio,
        })
    }

    /// The rule of this process's environment.
    pub fn from_env() -> Result<Sampler, String> {
        let name = std::env::var("OTEL_TRACES_SAMPLER").ok();
        let arg = std::env::var("OTEL_TRACES_SAMPLER_ARG").ok();
        Sampler::parse(name.as_deref(), arg.as_deref())
    }

    /// Whether a request with this caller's trace context (if any) is traced.
    pub fn samples(&self, parent: Option<&Traceparent>) -> bool {
        match parent {
            Some(p) if self.parent_based => p.sampled,
            Some(p) => self.keeps(p.ratio_key()),
            None => self.keeps(rand::random()),
        }
    }

    fn keeps(&self, key: u64) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        if self.ratio <= 0.0 {
            return false;
        }
        // As the SDK: keep when the key is under ratio x 2^63 (its top bit ignored).
        let bound = (self.ratio * (1u64 << 63) as f64) as u64;
        (key >> 1) < bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn a_traceparent_is_read_as_the_w3c_format_says() {
        let ok = Traceparent::parse(&format!("00-{TRACE}-00f067aa0ba902b7-01"));
        assert_eq!(
            ok,
            Some(Traceparent {
                trace_id: TRACE.into(),
                sampled: true
            })
        );
        let unsampled = Traceparent::parse(&format!("00-{TRACE}-00f067aa0ba902b7-00"));
        assert_eq!(unsampled.map(|t| t.sampled), Some(false));
        for bad in [
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{TRACE}-0000000000000000-01"),
            format!("ff-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", TRACE.to_uppercase()),
            format!("00-{TRACE}-00f067aa0ba902b7-01-extra"),
            format!("00-{TRACE}-00f067aa0ba902b7"),
            "garbage".to_owned(),
        ] {
            assert_eq!(Traceparent::parse(&bad), None, "{bad}");
        }
        // A later version may carry more fields.
        assert!(Traceparent::parse(&format!("01-{TRACE}-00f067aa0ba902b7-01-more")).is_some());
    }

    #[test]
    fn the_standard_variables_choose_the_rule() {
        assert_eq!(Sampler::parse(None, None), Ok(Sampler::default()));
        let ratio = Sampler::parse(Some("parentbased_traceidratio"), Some("0.1"));
        assert_eq!(
            ratio,
            Ok(Sampler {
                parent_based: true,
                ratio: 0.1
            })
        );
        assert_eq!(
            Sampler::parse(Some("always_off"), None).map(|s| s.ratio),
            Ok(0.0)
        );
        assert!(Sampler::parse(Some("jaeger_remote"), None).is_err());
        assert!(Sampler::parse(Some("traceidratio"), Some("1.5")).is_err());
    }

    #[test]
    fn a_parent_based_rule_follows_the_caller_and_a_ratio_keeps_its_share() {
        let sampled = Traceparent {
            trace_id: TRACE.into(),
            sampled: true,
        };
        let unsampled = Traceparent {
            sampled: false,
            ..sampled.clone()
        };
        let tenth = Sampler {
            parent_based: true,
            ratio: 0.1,
        };
        assert!(tenth.samples(Some(&sampled)));
        assert!(!tenth.samples(Some(&unsampled)));
        let kept = (0..20_000).filter(|_| tenth.samples(None)).count();
        assert!((1_600..2_400).contains(&kept), "{kept} of 20000 at 0.1");
        let never = Sampler {
            parent_based: false,
            ratio: 0.0,
        };
        assert!(!never.samples(Some(&sampled)));
        // A ratio decides on the trace id, so the same trace is kept or dropped every time.
        let own = Sampler {
            parent_based: false,
            ratio: 0.5,
        };
        let first = own.samples(Some(&unsampled));
        assert!((0..10).all(|_| own.samples(Some(&unsampled)) == first));
    }
}
