//! How numbers read on the pages: digits grouped by thousands (`125,640`,
//! `1,234.5`), the same in English, Korean and Chinese. Only what people
//! read is grouped; CSV exports and JSON keep plain numbers.

/// `text` with the digits of its whole part grouped by thousands when it
/// is a plain number (`-1234.56` → `-1,234.56`); any other text (a date, a
/// word, `–`) as it is.
pub fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + whole.len() / 3);
    out.push_str(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A whole number, grouped.
pub fn whole(n: impl Into<i64>) -> String {
    grouped(&n.into().to_string())
}

/// A number with `decimals` digits after the point, grouped. Something
/// is never shown as nothing: a positive value that would round to zero
/// reads `< 0.01` (a speaker's month of two minutes is not "0.00" hours).
pub fn fixed(v: f64, decimals: usize) -> String {
    let shown = format!("{v:.decimals$}");
    if v > 0.0 && shown.bytes().all(|b| b == b'0' || b == b'.') {
        let smallest = format!("{:.decimals$}", 10f64.powi(-(decimals as i32)));
        return format!("< {smallest}");
    }
    grouped(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_and_other_texts_left_alone() {
        assert_eq!(whole(125_640), "125,640");
        assert_eq!(whole(999), "999");
        assert_eq!(whole(1000), "1,000");
        assert_eq!(whole(-1_234_567), "-1,234,567");
        assert_eq!(fixed(1234.5, 1), "1,234.5");
        assert_eq!(fixed(0.98, 2), "0.98");
        assert_eq!(fixed(0.004, 2), "< 0.01");
        assert_eq!(fixed(0.04, 1), "< 0.1");
        assert_eq!(fixed(0.2, 0), "< 1");
        assert_eq!(fixed(0.0, 2), "0.00");
        assert_eq!(fixed(-0.001, 2), "-0.00");
        for text in ["2026-11-23", "–", "", "1e9", "12a", "-", "1.", ".5", "ten"] {
            assert_eq!(grouped(text), text);
        }
    }
}
