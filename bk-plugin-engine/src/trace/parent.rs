//! [`TraceParent`]: the W3C `traceparent` header, parsed and written.

use std::fmt;
use std::str::FromStr;

/// A W3C `traceparent` (trace id, parent span id, trace flags).
///
/// [`parse`](TraceParent::parse) follows the Trace Context rules: a version other than `ff`
/// (a later version may append fields after a `-`), lowercase hex, neither id all zeros.
/// Anything else is no trace context at all. [`Display`](fmt::Display) writes version `00`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
}

/// The length of a version `00` header.
const LEN: usize = 55;

impl TraceParent {
    /// Parses a `traceparent` header value; `None` when it is not a valid one.
    pub fn parse(header: &str) -> Option<Self> {
        let h = header.trim_matches([' ', '\t']).as_bytes();
        if h.len() < LEN {
            return None;
        }
        let version = hex::<1>(&h[0..2])?[0];
        let exact = version == 0;
        if version == 0xff
            || (exact && h.len() != LEN)
            || (!exact && h.len() > LEN && h[LEN] != b'-')
        {
            return None;
        }
        if h[2] != b'-' || h[35] != b'-' || h[52] != b'-' {
            return None;
        }
        Self::new(hex(&h[3..35])?, hex(&h[36..52])?, hex::<1>(&h[53..55])?[0])
    }

    /// The trace context of these ids; `None` if either is all zeros (invalid in W3C).
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> Option<Self> {
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(TraceParent {
            trace_id,
            span_id,
            // Only `sampled` is defined for version 00; other bits are not passed on.
            flags: flags & 0x01,
        })
    }

    /// A new trace (random ids), sampled.
    pub fn root() -> Self {
        let id = uuid::Uuid::new_v4().into_bytes();
        TraceParent {
            trace_id: id,
            span_id: span_id(),
            flags: 0x01,
        }
    }

    /// A span of the same trace under this one: the same trace id and flags, a new span id.
    pub fn child(&self) -> Self {
        TraceParent {
            span_id: span_id(),
            ..*self
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The parent (span) id.
    pub fn span_id(&self) -> [u8; 8] {
        self.span_id
    }

    /// The trace flags (`0x01`: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The trace id as 32 lowercase hex digits (what trace backends show).
    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }
}

/// A random, non-zero span id.
fn span_id() -> [u8; 8] {
    loop {
        let b = uuid::Uuid::new_v4().into_bytes();
        // Bytes 0..6 and 8..10 of a v4 UUID are random; the version nibble is not.
        let id = [b[0], b[1], b[2], b[3], b[4], b[5], b[8], b[9]];
        if id != [0; 8] {
            return id;
        }
    }
}

fn hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0; N];
    for (i, pair) in s.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id),
            self.flags
        )
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceParent({self})")
    }
}

impl FromStr for TraceParent {
    type Err = InvalidTraceParent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceParent::parse(s).ok_or(InvalidTraceParent)
    }
}

/// Not a valid W3C `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid W3C traceparent")]
pub struct InvalidTraceParent;

#[cfg(test)]
mod tests {
    use super::TraceParent;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn round_trips_a_valid_header() {
        let t = TraceParent::parse(VALID).unwrap();
        assert_eq!(t.to_string(), VALID);
        assert_eq!(t.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.flags(), 1);
        assert_eq!(TraceParent::parse(&format!(" {VALID}\t")), Some(t));
    }

    #[test]
    fn a_later_version_is_read_as_00() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-ever";
        let t = TraceParent::parse(later).unwrap();
        assert_eq!(t.to_string(), VALID);
        assert!(TraceParent::parse(&later.replace("-03-", "-03x")).is_none());
    }

    #[test]
    fn rejects_what_w3c_rejects() {
        for bad in [
            "",
            "garbage",
            &VALID[..54],
            &format!("{VALID}-"),
            &VALID.replace("00-4b", "ff-4b"),
            &VALID.to_uppercase(),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn children_and_roots() {
        let t = TraceParent::parse(VALID).unwrap();
        let c = t.child();
        assert_eq!(c.trace_id(), t.trace_id());
        assert_ne!(c.span_id(), t.span_id());
        let r = TraceParent::root();
        assert_ne!(r.trace_id(), t.trace_id());
        assert_eq!(TraceParent::parse(&r.to_string()), Some(r));
    }
}
