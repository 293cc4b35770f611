//! Units for people: durations, counts and percentages, shared by every reporter.

use crate::result::Throughput;

/// Formats milliseconds with a unit that suits the magnitude: `812 µs`, `12.3 ms`, `1.52 s`.
pub fn fmt_ms(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 {
        "0 ms".to_string()
    } else if abs >= 1000.0 {
        format!("{:.2} s", value / 1000.0)
    } else if abs >= 100.0 {
        format!("{value:.0} ms")
    } else if abs >= 10.0 {
        format!("{value:.1} ms")
    } else if abs >= 1.0 {
        format!("{value:.2} ms")
    } else {
        format!("{:.0} µs", value * 1000.0)
    }
}

/// A throughput in its unit, as criterion writes it: `3.52 GiB/s`, `812.0 MiB/s`,
/// `4.10 Melem/s`.
pub fn fmt_rate(per_s: f64, unit: Throughput) -> String {
    match unit {
        Throughput::Bytes(_) if per_s >= (1u64 << 30) as f64 => {
            format!("{:.2} GiB/s", per_s / (1u64 << 30) as f64)
        }
        Throughput::Bytes(_) => format!("{:.1} MiB/s", per_s / (1u64 << 20) as f64),
        Throughput::Elements(_) => match per_s {
            r if r >= 1e9 => format!("{:.2} Gelem/s", r / 1e9),
            r if r >= 1e6 => format!("{:.2} Melem/s", r / 1e6),
            r if r >= 1e3 => format!("{:.2} Kelem/s", r / 1e3),
            r => format!("{r:.1} elem/s"),
        },
    }
}

/// Bytes with a binary unit: `512 B`, `3.5 KiB`, `12.0 MiB`.
pub fn fmt_bytes(bytes: f64) -> String {
    match bytes {
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1u64 << 20) as f64 => format!("{:.1} MiB", b / (1u64 << 20) as f64),
        b if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        b => format!("{b:.0} B"),
    }
}

/// A count with thousands separators: `998,004`.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A percentage with one decimal: `48.2%`.
pub fn fmt_pct(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(fmt_ms(0.8123), "812 µs");
        assert_eq!(fmt_ms(1.234), "1.23 ms");
        assert_eq!(fmt_ms(12.34), "12.3 ms");
        assert_eq!(fmt_ms(123.4), "123 ms");
        assert_eq!(fmt_ms(1520.0), "1.52 s");
        assert_eq!(fmt_count(998_004), "998,004");
        assert_eq!(fmt_pct(0.482), "48.2%");
    }
}
