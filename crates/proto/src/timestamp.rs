//! A signed time: UTC, whole seconds, one spelling on the wire.
//!
//! The signed bytes carry Unix seconds, so a time in the JSON must name
//! exactly one second and have exactly one spelling: `YYYY-MM-DDTHH:MM:SSZ`.
//! A fraction, an offset, a lowercase `t` or `z`, or a leap second would be a
//! second spelling of the same bytes, and is refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// The one accepted form.
const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// A time in whole seconds, UTC. Years 0000 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The second `t` falls in, in UTC: the fraction is dropped.
    pub fn truncating(t: OffsetDateTime) -> Timestamp {
        let utc = t.to_offset(UtcOffset::UTC);
        Timestamp(utc.replace_nanosecond(0).expect("0 is a valid nanosecond"))
    }

    /// The canonical spelling only; anything else is `None`.
    pub fn parse(s: &str) -> Option<Timestamp> {
        if s.len() != 20 {
            return None;
        }
        let parsed = time::PrimitiveDateTime::parse(s, FORMAT).ok()?.assume_utc();
        let t = Timestamp(parsed);
        // Formatting back must give the same text: this rules out any
        // spelling the parser might tolerate that is not the canonical one.
        (t.to_string() == s).then_some(t)
    }

    pub fn as_datetime(self) -> OffsetDateTime {
        self.0
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(t: Timestamp) -> OffsetDateTime {
        t.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("a time must be written YYYY-MM-DDTHH:MM:SSZ"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_round_trips() {
        let t = Timestamp::parse("2026-11-26T12:34:56Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T12:34:56Z");
        assert_eq!(t.unix_seconds(), 1_795_696_496);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-26T12:34:56Z\""
        );
    }

    #[test]
    fn every_other_spelling_is_refused() {
        for s in [
            "2026-11-26T12:34:56.000Z",
            "2026-11-26T12:34:56.5Z",
            "2026-11-26T12:34:56+00:00",
            "2026-11-26T13:34:56+01:00",
            "2026-11-26t12:34:56z",
            "2026-11-26 12:34:56Z",
            "2026-11-26T12:34:60Z",
            "2026-02-30T12:34:56Z",
            "+2026-11-26T12:34:56Z",
            "2026-11-26T12:34Z",
            "2026-11-26T12:34:56",
            " 2026-11-26T12:34:56Z",
            "",
        ] {
            assert_eq!(Timestamp::parse(s), None, "{s:?} was accepted");
            assert!(serde_json::from_str::<Timestamp>(&format!("{s:?}")).is_err());
        }
    }

    #[test]
    fn truncating_drops_the_fraction_and_the_offset() {
        let t = time::macros::datetime!(2026-11-26 13:34:56.789 +01:00);
        assert_eq!(Timestamp::truncating(t).to_string(), "2026-11-26T12:34:56Z");
    }
}
