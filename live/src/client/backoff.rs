//! Reconnect delays: exponential, capped, with jitter so that a server restart is not met by
//! every tab at the same instant.

use std::time::Duration;

/// First retry after about this long.
pub const BASE: Duration = Duration::from_millis(500);
/// Never wait longer than this between attempts.
pub const MAX: Duration = Duration::from_secs(15);

/// The delay before attempt `attempt` (1, 2, …), given `unit` drawn uniformly from [0, 1):
/// `BASE · 2^(attempt-1)`, capped at [`MAX`], then scaled into its upper half by the jitter.
pub fn delay(attempt: u32, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let ceiling = BASE.saturating_mul(1 << exponent).min(MAX);
    ceiling.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles per attempt, stays within [ceiling/2, ceiling], and never exceeds MAX.
    #[test]
    fn grows_exponentially_with_jitter_and_a_cap() {
        assert_eq!(delay(1, 1.0), BASE);
        assert_eq!(delay(1, 0.0), BASE / 2);
        assert_eq!(delay(2, 1.0), BASE * 2);
        assert_eq!(delay(3, 1.0), BASE * 4);
        for attempt in 1..100 {
            for unit in [0.0, 0.3, 0.99] {
                let d = delay(attempt, unit);
                assert!(d <= MAX && d >= BASE / 2, "attempt {attempt}: {d:?}");
            }
        }
        assert_eq!(delay(40, 1.0), MAX);
        assert_eq!(delay(0, 1.0), BASE);
    }
}
