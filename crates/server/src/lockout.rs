//! The failure policy of PRODUCT.md, as pure functions of the count of
//! consecutive failures. Failures are counted per normalised username,
//! whether or not the account exists.

use time::{Duration, OffsetDateTime};

/// Failures before the first wait.
pub const FREE_FAILURES: u32 = 5;
/// Failures that lock the card until an operator acts.
pub const LOCK_AT: u32 = 20;
/// The first wait; each later failure doubles it.
pub const FIRST_WAIT: Duration = Duration::minutes(15);
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::hours(24);
/// A count for a name with no account is forgotten this long after its
/// last failure (ARCHITECTURE.md, "Counts for names with no account lapse").
pub const UNKNOWN_NAME_LAPSE: Duration = Duration::days(30);

/// Where an account stands after `failures` consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// May try now.
    Open,
    /// Must wait until the given time.
    Waiting(OffsetDateTime),
    /// Locked until an operator unlocks it or issues a new card.
    Locked,
}

/// How long the account waits after its `failures`-th consecutive failure.
pub fn wait_after(failures: u32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = failures - FREE_FAILURES;
    // 15 min * 2^7 is already past 24 h, so cap the shift before it overflows.
    let wait = FIRST_WAIT * (1i32 << doublings.min(8));
    Some(wait.min(MAX_WAIT))
}

/// The standing at `now`, given the count and the time of the last failure.
pub fn standing(
    failures: u32,
    last_failure: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Standing {
    if failures >= LOCK_AT {
        return Standing::Locked;
    }
    match (wait_after(failures), last_failure) {
        (Some(wait), Some(last)) if now < last + wait => Standing::Waiting(last + wait),
        _ => Standing::Open,
    }
}

/// How many evaluations (password or code checks) may run at once after
/// `failures`: as many as there are failures before the first wait, then
/// one, since each failure starts a wait; none once locked.
pub fn evaluations_allowed(failures: u32) -> u32 {
    if failures < FREE_FAILURES {
        FREE_FAILURES - failures
    } else if failures < LOCK_AT {
        1
    } else {
        0
    }
}

/// Failures still allowed before the next stage: before the first wait
/// while there has been none, and once waits have begun, before the lock.
pub fn attempts_left(failures: u32) -> u32 {
    if failures < FREE_FAILURES {
        FREE_FAILURES - failures
    } else {
        LOCK_AT.saturating_sub(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_fifteen_minutes_to_a_day() {
        let waits: Vec<_> = (0..14).map(wait_after).collect();
        assert_eq!(waits[..5], [None, None, None, None, None]);
        assert_eq!(waits[5], Some(Duration::minutes(15)));
        assert_eq!(waits[6], Some(Duration::minutes(30)));
        assert_eq!(waits[7], Some(Duration::hours(1)));
        assert_eq!(waits[11], Some(Duration::hours(16)));
        assert_eq!(waits[12], Some(Duration::hours(24)));
        assert_eq!(wait_after(19), Some(Duration::hours(24)));
        assert_eq!(wait_after(u32::MAX), Some(Duration::hours(24)));
    }

    #[test]
    fn standing_follows_the_count() {
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(standing(4, Some(t), t), Standing::Open);
        assert_eq!(
            standing(5, Some(t), t + Duration::minutes(14)),
            Standing::Waiting(t + Duration::minutes(15))
        );
        assert_eq!(
            standing(5, Some(t), t + Duration::minutes(15)),
            Standing::Open
        );
        assert_eq!(
            standing(20, Some(t), t + Duration::days(400)),
            Standing::Locked
        );
        assert_eq!(attempts_left(0), 5);
        assert_eq!(attempts_left(4), 1);
        assert_eq!(attempts_left(5), 15);
        assert_eq!(attempts_left(19), 1);
        assert_eq!(attempts_left(20), 0);
    }
}
