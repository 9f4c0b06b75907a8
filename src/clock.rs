//! The clock is a parameter: read once at the edge of a request,
//! passed down as `now` (seconds since the Unix epoch).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// Milliseconds since the Unix epoch (the System Log's `published`).
pub type UnixMillis = i64;

/// The millisecond of the request second `now`: the second is the request's (so a test
/// clock moves it), the milliseconds within it the wall clock's. For what records
/// rather than decides (the System Log's `published`): nothing is granted or refused by
/// it.
pub fn millis_at(now: UnixTime) -> UnixMillis {
    let within = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::from(d.subsec_millis()))
        .unwrap_or(0);
    now * 1000 + within
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// The wall clock shifted by an adjustable offset: lets tests move time forward
/// (a code past its 300 seconds) without sleeping.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> UnixTime {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

/// RFC 3339 in UTC (`2026-11-24T18:58:03Z`), as Okta's APIs print times.
pub fn rfc3339(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads an RFC 3339 date-time (`2026-11-24T18:58:03Z`, `2026-11-24T18:58:03.120Z`,
/// `2026-11-24T19:58:03+01:00`) as Unix seconds; fractions of a second are dropped.
pub fn parse_rfc3339(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    if b.len() < 20 || !text.is_ascii() {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = &text[range];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let (h, m) = (
                rest[1..3].parse::<i64>().ok()?,
                rest[4..6].parse::<i64>().ok()?,
            );
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `parse_rfc3339` to the millisecond: digits past the third of a fraction are dropped.
pub fn parse_rfc3339_millis(text: &str) -> Option<UnixMillis> {
    let seconds = parse_rfc3339(text)?;
    let millis = match text.get(19..).and_then(|rest| rest.strip_prefix('.')) {
        Some(fraction) => {
            let digits: String = fraction
                .chars()
                .take_while(char::is_ascii_digit)
                .take(3)
                .collect();
            format!("{digits:0<3}").parse::<i64>().ok()?
        }
        None => 0,
    };
    Some(seconds * 1000 + millis)
}

/// RFC 3339 with milliseconds (always `.000`) for a time in whole seconds, as Okta's
/// APIs print times.
pub fn rfc3339_millis(t: UnixTime) -> String {
    rfc3339_of_millis(t * 1000)
}

/// RFC 3339 to the millisecond, as Okta's System Log prints `published`.
pub fn rfc3339_of_millis(t: UnixMillis) -> String {
    let text = rfc3339(t.div_euclid(1000));
    format!("{}.{:03}Z", &text[..text.len() - 1], t.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        for t in [0, 951_782_400, 1_795_546_683, -86_400] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
            assert_eq!(parse_rfc3339(&rfc3339_millis(t)), Some(t));
            for ms in [0, 1, 119, 120, 999] {
                let text = rfc3339_of_millis(t * 1000 + ms);
                assert_eq!(parse_rfc3339_millis(&text), Some(t * 1000 + ms), "{text}");
            }
        }
        assert_eq!(
            rfc3339_of_millis(1_795_546_683_119),
            "2026-11-24T18:58:03.119Z"
        );
        assert_eq!(rfc3339_millis(1_795_546_683), "2026-11-24T18:58:03.000Z");
        assert_eq!(
            parse_rfc3339_millis("2026-11-24T18:58:03.1199Z"),
            Some(1_795_546_683_119),
            "past the millisecond is dropped"
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-24T18:58:03.12Z"),
            Some(1_795_546_683_120)
        );
        assert_eq!(
            parse_rfc3339_millis("2026-11-24T19:58:03.5+01:00"),
            Some(1_795_546_683_500)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T19:58:03+01:00"),
            Some(1_795_546_683)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T18:58:03.123456Z"),
            Some(1_795_546_683)
        );
        for bad in [
            "",
            "2026-11-24",
            "2026-02-30T00:00:00Z",
            "2026-11-24T18:58:03",
            "2026-11-24T18:58:03.Z",
            "x026-11-24T18:58:03Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_546_683), "2026-11-24T18:58:03Z");
    }
}
