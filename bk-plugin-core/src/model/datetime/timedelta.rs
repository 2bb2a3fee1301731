//! Python's `datetime.timedelta` arithmetic, to the microsecond: the constructor's rounding
//! of float arguments (CPython `delta_new` / `accum`) and its range.

/// Microseconds per second, minute, hour and day.
pub(crate) const US_PER_SECOND: i128 = 1_000_000;
const US_PER_MINUTE: i128 = 60 * US_PER_SECOND;
const US_PER_HOUR: i128 = 60 * US_PER_MINUTE;
pub(crate) const US_PER_DAY: i128 = 24 * US_PER_HOUR;

/// `timedelta.max.days`: a timedelta's days are within ±999,999,999.
const MAX_DAYS: i128 = 999_999_999;

/// A Python exception raised while building a value, named as Python names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyException {
    /// `ValueError(message)`: pydantic reports it (`type=value_error`).
    Value(String),
    /// `OverflowError(message)`: pydantic does not catch it (an exception out of validation).
    Overflow(String),
}

/// The arguments of `timedelta(...)` that pydantic passes, each a Python float.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DeltaArgs {
    pub(crate) days: f64,
    pub(crate) hours: f64,
    pub(crate) minutes: f64,
    pub(crate) seconds: f64,
    pub(crate) microseconds: f64,
}

/// `timedelta(days=.., hours=.., minutes=.., seconds=.., microseconds=..)` with float
/// arguments, as whole microseconds: CPython adds the arguments in the order microseconds,
/// seconds, minutes, hours, days; each integer part exactly, the fractional microseconds
/// summed as floats and rounded half to even at the end.
pub(crate) fn timedelta(args: DeltaArgs) -> Result<i128, PyException> {
    let mut sum: i128 = 0;
    let mut leftover = 0.0_f64;
    for (value, factor) in [
        (args.microseconds, 1),
        (args.seconds, US_PER_SECOND),
        (args.minutes, US_PER_MINUTE),
        (args.hours, US_PER_HOUR),
        (args.days, US_PER_DAY),
    ] {
        accum(&mut sum, &mut leftover, value, factor)?;
    }
    if leftover != 0.0 {
        // C's round(): half away from zero; a tie goes to the even total.
        let mut whole = leftover.round();
        if (whole - leftover).abs() == 0.5 {
            let odd = (sum & 1) as f64;
            whole = 2.0 * ((leftover + odd) * 0.5).round() - odd;
        }
        sum += whole as i128;
    }
    check_range(sum)
}

fn accum(sum: &mut i128, leftover: &mut f64, value: f64, factor: i128) -> Result<(), PyException> {
    if value.is_nan() {
        return Err(PyException::Value(
            "cannot convert float NaN to integer".into(),
        ));
    }
    if value.is_infinite() {
        return Err(PyException::Overflow(
            "cannot convert float infinity to integer".into(),
        ));
    }
    let int_part = value.trunc();
    let frac = value - int_part;
    // Far beyond the range anyway; keeps the i128 arithmetic from overflowing.
    if int_part.abs() > 1e30 {
        return Err(overflow_days(int_part * factor as f64 / US_PER_DAY as f64));
    }
    *sum += int_part as i128 * factor;
    if frac == 0.0 {
        return Ok(());
    }
    let scaled = factor as f64 * frac;
    let scaled_int = scaled.trunc();
    *sum += scaled_int as i128;
    *leftover += scaled - scaled_int;
    Ok(())
}

/// `microseconds` if a timedelta can hold it.
pub(crate) fn check_range(microseconds: i128) -> Result<i128, PyException> {
    let days = microseconds.div_euclid(US_PER_DAY);
    if days.abs() > MAX_DAYS {
        return Err(overflow_days(days as f64));
    }
    Ok(microseconds)
}

fn overflow_days(days: f64) -> PyException {
    PyException::Overflow(format!("days={days:.0}; must have magnitude <= {MAX_DAYS}"))
}

/// `td.total_seconds()`: the microseconds divided by 10**6, correctly rounded as Python's
/// integer division is (by reading the exact decimal).
pub(crate) fn total_seconds(microseconds: i128) -> f64 {
    format!("{microseconds}e-6").parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: f64) -> i128 {
        timedelta(DeltaArgs {
            seconds,
            ..DeltaArgs::default()
        })
        .unwrap()
    }

    #[test]
    fn float_seconds_round_like_cpython() {
        assert_eq!(secs(1.5), 1_500_000);
        assert_eq!(secs(-1.5), -1_500_000);
        // 0.0000005 s is half a microsecond: a tie, to even (0).
        assert_eq!(secs(0.000_000_5), 0);
        assert_eq!(secs(0.000_001_5), 2);
        assert_eq!(secs(1e-7), 0);
        assert_eq!(secs(0.1), 100_000);
    }

    #[test]
    fn the_range_is_python_s() {
        let days = |d: f64| {
            timedelta(DeltaArgs {
                days: d,
                ..DeltaArgs::default()
            })
        };
        assert!(days(999_999_999.0).is_ok());
        assert_eq!(
            days(1e9),
            Err(PyException::Overflow(
                "days=1000000000; must have magnitude <= 999999999".into()
            ))
        );
        assert!(matches!(days(f64::NAN), Err(PyException::Value(_))));
    }
}
