//! Whether a float cell's f64 holds it exactly: what JSON decides a number's type by, so that
//! no value is rounded silently (see `json::object`).

use super::trim;

/// Whether a float cell (as [`super::number_kind`] takes it) is exactly the number of its f64 as a
/// program writes that f64: its shortest decimal (Rust, Python, JavaScript; dat's own float
/// text) or its 17 significant digits (C's `%.17g`), compared as numbers (`1.50` is `1.5`).
/// `0.1`, `0.10000000000000001`, `1.2345678901234568e-300` are; `123456789012345678901.5`,
/// `0.12345678901234567` (its f64 is `…66`) and `1e-400` (0) are not: they hold digits no f64
/// keeps. A cell that fails this is no float ([`super::number_kind`]): delimited text and JSON
/// alike keep its text.
pub fn float_is_exact(cell: &str) -> bool {
    let cell = trim(cell);
    let Some(f) = cell.parse::<f64>().ok().filter(|f| f.is_finite()) else { return false };
    // Up to 15 significant digits of a normal f64 always read back as written (f64 holds 15
    // decimal digits): most cells stop here, without formatting the float.
    let digits = cell.bytes().filter(u8::is_ascii_digit).count();
    if digits <= 15 && f.abs() >= f64::MIN_POSITIVE {
        return true;
    }
    let written = significant(cell);
    written == significant(&format!("{:e}", f.abs())) || written == significant(&format!("{:.16e}", f.abs()))
}

/// A number's significant digits (no leading or trailing zeros, none for zero) and the power
/// of ten of the place just before the first one: its value is `0.<digits> × 10^power`.
fn significant(number: &str) -> (Vec<u8>, i64) {
    let b = number.as_bytes();
    let b = b.strip_prefix(b"-").or_else(|| b.strip_prefix(b"+")).unwrap_or(b);
    let at = b.iter().position(|c| matches!(c, b'e' | b'E')).unwrap_or(b.len());
    let (mantissa, exponent) = b.split_at(at);
    // Saturating: an exponent of many digits only needs to stay far from the others.
    let mut power = exponent
        .iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0i64, |p, d| p.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if exponent.get(1) == Some(&b'-') {
        power = -power;
    }
    let point = mantissa.iter().position(|&c| c == b'.').unwrap_or(mantissa.len());
    let all: Vec<u8> = mantissa.iter().copied().filter(u8::is_ascii_digit).collect();
    let leading = all.iter().take_while(|&&d| d == b'0').count();
    let kept = all.get(leading..).unwrap_or_default();
    let trailing = kept.iter().rev().take_while(|&&d| d == b'0').count();
    let kept = kept.get(..kept.len() - trailing).unwrap_or_default().to_vec();
    let power = if kept.is_empty() { 0 } else { power.saturating_add(point as i64 - leading as i64) };
    (kept, power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_float_is_exact_when_its_f64_reads_back_as_the_same_number() {
        let exact = [
            "1.50",
            "0.1",
            "0.10000000000000001",
            "-0.0",
            "0e-400",
            "1.2345678901234568e-300",
            "5e-324",
            "4.9406564584124654e-324",
            "123456789012.25",
            "1E+2",
            "1.7976931348623157e308",
        ];
        for cell in exact {
            assert!(float_is_exact(cell), "{cell}");
        }
        let rounded = [
            "123456789012345678901.5",
            "0.12345678901234567890123",
            "0.12345678901234567",
            "1.2345678901234567e-300",
            "1e-400",
            "1.00000000000000000001",
            "5e-325",
        ];
        for cell in rounded {
            assert!(!float_is_exact(cell), "{cell}");
        }
    }
}
