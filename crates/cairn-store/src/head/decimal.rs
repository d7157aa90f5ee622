//! Exact decimals: a float that is `m * 10^e` for an integer mantissa `m`, as most exporters'
//! values are (integer counters, CPU seconds in hundredths, byte gauges, temperatures).
//! VictoriaMetrics stores values this way; its deltas compress far better than XOR-ed bits.
//!
//! A conversion is accepted only when decoding gives back the same bits: with `|m| <= 2^53`
//! and `10^|e|` both exact in f64, the one IEEE multiplication or division is correctly
//! rounded, so the decoded float is the nearest float to the rational `m * 10^e`, which is
//! what parsing the decimal text gave. NaN, infinities and -0.0 never convert.

/// Smallest exponent tried.
pub(crate) const MIN_EXP: i8 = -12;
/// Largest exponent tried.
pub(crate) const MAX_EXP: i8 = 12;

const POW10: [f64; 13] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
];

/// Mantissas up to 2^53 convert to f64 exactly.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0;

/// The float `m * 10^exp` (`exp` in `MIN_EXP..=MAX_EXP`).
pub(crate) fn decode(m: i64, exp: i8) -> f64 {
    let p = POW10[usize::from(exp.unsigned_abs())];
    if exp < 0 { m as f64 / p } else { m as f64 * p }
}

/// The mantissa of `bits` at exponent `exp`, when it decodes back to exactly `bits`.
pub(crate) fn mantissa_at(bits: u64, exp: i8) -> Option<i64> {
    let v = f64::from_bits(bits);
    let p = POW10[usize::from(exp.unsigned_abs())];
    let scaled = if exp < 0 { v * p } else { v / p };
    let r = scaled.round();
    if r.is_nan() || r.abs() > MAX_MANTISSA {
        return None;
    }
    let m = r as i64;
    (decode(m, exp).to_bits() == bits).then_some(m)
}

/// The coarsest exponent at which `bits` is an exact decimal, with its mantissa; exponents
/// above 0 only when the integer is too large for a mantissa.
pub(crate) fn to_decimal(bits: u64) -> Option<(i64, i8)> {
    if !f64::from_bits(bits).is_finite() {
        return None;
    }
    (MIN_EXP..=0)
        .rev()
        .chain(1..=MAX_EXP)
        .find_map(|e| mantissa_at(bits, e).map(|m| (m, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::STALE_NAN_BITS;
    use proptest::prelude::*;

    #[test]
    fn typical_values() {
        assert_eq!(to_decimal(12345.67f64.to_bits()), Some((1_234_567, -2)));
        assert_eq!(to_decimal(1.0f64.to_bits()), Some((1, 0)));
        assert_eq!(to_decimal(0.0f64.to_bits()), Some((0, 0)));
        assert_eq!(to_decimal((-0.5f64).to_bits()), Some((-5, -1)));
        assert_eq!(
            to_decimal(1e20f64.to_bits()),
            Some((1_000_000_000_000_000, 5))
        );
        for bits in [
            (-0.0f64).to_bits(),
            f64::NAN.to_bits(),
            STALE_NAN_BITS,
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (0.1f64 + 0.2).to_bits(),
            std::f64::consts::PI.to_bits(),
            1e-300f64.to_bits(),
        ] {
            assert_eq!(to_decimal(bits), None, "{bits:#x}");
        }
        // 14.87 is exact at -2, and so at every finer exponent, not at a coarser one.
        let b = 14.87f64.to_bits();
        assert_eq!(mantissa_at(b, -1), None);
        assert_eq!(mantissa_at(b, -5), Some(1_487_000));
    }

    proptest! {
        #[test]
        fn any_bits_convert_only_exactly(bits in any::<u64>(), exp in MIN_EXP..=MAX_EXP) {
            if let Some(m) = mantissa_at(bits, exp) {
                prop_assert_eq!(decode(m, exp).to_bits(), bits);
            }
            if let Some((m, e)) = to_decimal(bits) {
                prop_assert_eq!(decode(m, e).to_bits(), bits);
            }
        }

        #[test]
        fn parsed_decimals_convert(m in -999_999_999_999_999i64..=999_999_999_999_999, digits in 0u32..=12) {
            // The float a scrape parser produces from the decimal text; 15 significant
            // digits is what f64 carries faithfully.
            let text = format!("{}e-{digits}", m);
            let v: f64 = text.parse().expect("formatted decimal parses");
            let (dm, de) = to_decimal(v.to_bits()).expect("a parsed decimal is exact");
            prop_assert_eq!(decode(dm, de).to_bits(), v.to_bits());
            prop_assert!(de <= 0);
            // The chosen exponent is never finer than the text's.
            prop_assert!(i32::from(de) >= -(digits as i32) || m == 0);
        }
    }
}
