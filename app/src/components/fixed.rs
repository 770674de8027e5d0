//! Numbers for display: decimals, without Rust's float formatting (`{:.2}` pulls its exact
//! decimal conversion into the wasm, several kilobytes for a few prices).

/// `value` with `decimals` digits after the point, rounded half away from zero; `signed`
/// puts a `+` before positive values (and zero). Not finite: `—`.
pub fn fixed(value: f64, decimals: u32, signed: bool) -> String {
    if !value.is_finite() || value.abs() >= 1e15 {
        return "—".into();
    }
    let scale = 10u64.pow(decimals);
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = match (value < 0.0 && scaled != 0, signed) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => "",
    };
    let (whole, fraction) = (scaled / scale, scaled % scale);
    if decimals == 0 {
        format!("{sign}{whole}")
    } else {
        format!(
            "{sign}{whole}.{fraction:0width$}",
            width = decimals as usize
        )
    }
}

/// A duration of `ms` as a page says how long ago something was: `now`, `12 s ago`,
/// `3 min ago`, `2 h ago` (whole units, rounded down).
pub fn ago(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0 => "now".into(),
        1..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3600),
    }
}

/// `text` safe inside markup and quoted attribute values (for `inner_html`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ago, escape, fixed};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn durations_read_as_ago() {
        assert_eq!(ago(999), "now");
        assert_eq!(ago(12_400), "12 s ago");
        assert_eq!(ago(180_000), "3 min ago");
        assert_eq!(ago(8_000_000), "2 h ago");
    }

    /// What `{:.2}`, `{:+.2}` and `{:.1}` showed for the values the dashboard meets.
    #[test]
    fn matches_the_format_strings_it_replaced() {
        for (value, decimals) in [
            (123.45, 2),
            (0.0, 2),
            (99.999, 2),
            (1.05, 1),
            (7.0, 1),
            (0.004, 2),
        ] {
            assert_eq!(
                fixed(value, decimals, false),
                format!("{value:.*}", decimals as usize)
            );
        }
        assert_eq!(fixed(1.5, 2, true), "+1.50");
        assert_eq!(fixed(-1.5, 2, true), "-1.50");
        assert_eq!(fixed(0.0, 2, true), "+0.00");
        assert_eq!(fixed(-0.001, 2, true), "+0.00");
        assert_eq!(fixed(-12.345, 1, false), "-12.3");
        assert_eq!(fixed(42.0, 0, false), "42");
        assert_eq!(fixed(f64::NAN, 2, false), "—");
    }
}
