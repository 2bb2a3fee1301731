//! [`PollSchedule`]: stepped poll intervals (5 s at first, then 30 s, then 5 min), so a plugin
//! that polls a slow system does not count its rounds in `storage` by hand.

use std::time::Duration;

/// Poll intervals by round: each step's interval for its number of rounds, then the last
/// interval for ever. A `const`, shared by every run:
///
/// ```
/// use std::time::Duration;
/// use bk_plugin_core::PollSchedule;
///
/// /// 5 s for the first 6 polls, 30 s for the next 10, then every 5 minutes.
/// const BACKOFF: PollSchedule = PollSchedule::new(
///     &[(Duration::from_secs(5), 6), (Duration::from_secs(30), 10)],
///     Duration::from_secs(300),
/// );
///
/// assert_eq!(BACKOFF.interval(1), Duration::from_secs(5));
/// assert_eq!(BACKOFF.interval(6), Duration::from_secs(5));
/// assert_eq!(BACKOFF.interval(7), Duration::from_secs(30));
/// assert_eq!(BACKOFF.interval(17), Duration::from_secs(300));
/// ```
///
/// In `execute`, `ctx.wait_poll(BACKOFF.interval(ctx.invoke_count()))`: the run with
/// `invoke_count` n schedules poll n. Pair it with `#[plugin(timeout = "..")]` to give up
/// eventually.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSchedule {
    steps: &'static [(Duration, u32)],
    then: Duration,
}

impl PollSchedule {
    /// `steps` of `(interval, rounds)` in order, then `then` for every later round.
    pub const fn new(steps: &'static [(Duration, u32)], then: Duration) -> Self {
        PollSchedule { steps, then }
    }

    /// The interval before poll `round` (1 for the poll the first run asks for).
    pub fn interval(&self, round: u32) -> Duration {
        let mut first_of_step = 1u32;
        for &(interval, rounds) in self.steps {
            let next = first_of_step.saturating_add(rounds);
            if round < next {
                return interval;
            }
            first_of_step = next;
        }
        self.then
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_map_to_their_step() {
        const S: PollSchedule = PollSchedule::new(
            &[(Duration::from_secs(1), 2), (Duration::from_secs(2), 1)],
            Duration::from_secs(9),
        );
        let got: Vec<u64> = (0..6).map(|r| S.interval(r).as_secs()).collect();
        assert_eq!(got, [1, 1, 1, 2, 9, 9]);
        assert_eq!(
            PollSchedule::new(&[], Duration::from_secs(4))
                .interval(1)
                .as_secs(),
            4
        );
        assert_eq!(S.interval(u32::MAX).as_secs(), 9);
    }
}
