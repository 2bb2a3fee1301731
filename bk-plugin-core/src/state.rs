//! The five invocation states and their wire codes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// State of an invocation, serialised as the integer codes of the Python framework.
///
/// | state | code | meaning |
/// |---|---|---|
/// | [`Empty`](State::Empty) | 1 | first run of `execute`; never stored or returned |
/// | [`Poll`](State::Poll) | 2 | waiting for a timer (`wait_poll`) |
/// | [`Callback`](State::Callback) | 3 | waiting for an external callback (`wait_callback`) |
/// | [`Success`](State::Success) | 4 | finished successfully (final) |
/// | [`Fail`](State::Fail) | 5 | failed (final) |
///
/// The set is fixed by the wire protocol, so the enum is exhaustive.
///
/// ```
/// use bk_plugin_core::State;
/// assert_eq!(serde_json::to_string(&State::Poll).unwrap(), "2");
/// assert_eq!(State::from_code(5), Some(State::Fail));
/// assert!(State::Success.is_finished());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// First run: `execute` has not decided anything yet.
    Empty = 1,
    /// Resumed after a poll interval.
    Poll = 2,
    /// Resumed by an external callback.
    Callback = 3,
    /// Finished successfully.
    Success = 4,
    /// Failed.
    Fail = 5,
}

impl State {
    /// The wire code (1–5).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The state for a wire code, or `None` outside 1–5.
    pub const fn from_code(code: u8) -> Option<State> {
        match code {
            1 => Some(State::Empty),
            2 => Some(State::Poll),
            3 => Some(State::Callback),
            4 => Some(State::Success),
            5 => Some(State::Fail),
            _ => None,
        }
    }

    /// `true` for [`Success`](State::Success) and [`Fail`](State::Fail): no further run happens.
    pub const fn is_finished(self) -> bool {
        matches!(self, State::Success | State::Fail)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            State::Empty => "EMPTY",
            State::Poll => "POLL",
            State::Callback => "CALLBACK",
            State::Success => "SUCCESS",
            State::Fail => "FAIL",
        };
        f.write_str(name)
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u8::deserialize(deserializer)?;
        State::from_code(code).ok_or_else(|| {
            serde::de::Error::custom(format_args!("invalid state code {code}, expected 1-5"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn codes_round_trip() {
        for code in 1..=5u8 {
            let state = State::from_code(code).unwrap();
            assert_eq!(state.code(), code);
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, code.to_string());
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        }
        assert_eq!(State::from_code(0), None);
        assert!(serde_json::from_str::<State>("6").is_err());
        assert!(serde_json::from_str::<State>("\"POLL\"").is_err());
    }
}
