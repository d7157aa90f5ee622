//! The decimal arithmetic behind sprig's `addf`, `subf`, `mulf` and `divf`
//! (shopspring/decimal v1.4): each float becomes the decimal of its shortest representation,
//! sums and products are exact, a quotient is rounded half away from zero to 16 places after
//! the point (`DivisionPrecision`), and the result is the float64 nearest to the decimal. The
//! error texts are the library's panic messages, which Go's template engine reports.

use num_bigint::{BigInt, Sign};
use num_integer::Integer;

/// Digits after the point a quotient keeps (shopspring's `DivisionPrecision`).
const DIVISION_PRECISION: i32 = 16;

/// `value × 10^exp`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Decimal {
    value: BigInt,
    exp: i32,
}

/// `10^n`.
fn pow10(n: u32) -> BigInt {
    BigInt::from(10u8).pow(n)
}

/// Go's `%v` of a float, for the panic message of a NaN or an infinity.
fn go_float(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

impl Decimal {
    /// `NewFromFloat`: the shortest decimal that reads back as `v`.
    pub(super) fn from_f64(v: f64) -> Result<Decimal, String> {
        if !v.is_finite() {
            return Err(format!("Cannot create a Decimal from {}", go_float(v)));
        }
        if v == 0.0 {
            return Ok(Decimal {
                value: BigInt::ZERO,
                exp: 0,
            });
        }
        // Rust's `{:e}` prints the shortest round-tripping digits, as Go's `roundShortest`.
        let s = format!("{v:e}");
        let (mantissa, e) = s.split_once('e').ok_or("unexpected float format")?;
        let e: i32 = e.parse().map_err(|_| "unexpected float exponent")?;
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int}{frac}");
        let value: BigInt = digits.parse().map_err(|_| "unexpected float digits")?;
        let frac_len = i32::try_from(frac.len()).map_err(|_| "unexpected float digits")?;
        Ok(Decimal {
            value,
            exp: e - frac_len,
        })
    }

    /// The pair at a common exponent, the smaller one (`RescalePair`).
    fn aligned(&self, other: &Decimal) -> (BigInt, BigInt, i32) {
        let exp = self.exp.min(other.exp);
        let scale = |d: &Decimal| {
            let shift = d.exp.abs_diff(exp);
            if shift == 0 {
                d.value.clone()
            } else {
                &d.value * pow10(shift)
            }
        };
        (scale(self), scale(other), exp)
    }

    /// `Add`.
    pub(super) fn add(&self, other: &Decimal) -> Decimal {
        let (a, b, exp) = self.aligned(other);
        Decimal { value: a + b, exp }
    }

    /// `Sub`.
    pub(super) fn sub(&self, other: &Decimal) -> Decimal {
        let (a, b, exp) = self.aligned(other);
        Decimal { value: a - b, exp }
    }

    /// `Mul`.
    pub(super) fn mul(&self, other: &Decimal) -> Result<Decimal, String> {
        let exp = i64::from(self.exp) + i64::from(other.exp);
        let exp = i32::try_from(exp).map_err(|_| format!("exponent {exp} overflows an int32!"))?;
        Ok(Decimal {
            value: &self.value * &other.value,
            exp,
        })
    }

    /// `Div`: the quotient rounded half away from zero to [`DIVISION_PRECISION`] places
    /// (`DivRound` over `QuoRem`, which truncates).
    pub(super) fn div(&self, other: &Decimal) -> Result<Decimal, String> {
        if other.value.sign() == Sign::NoSign {
            return Err("decimal division by 0".into());
        }
        // The quotient is an integer count of 10^-16: scale the dividend or the divisor so
        // that one integer division gives it.
        let e = i64::from(self.exp) - i64::from(other.exp) + i64::from(DIVISION_PRECISION);
        let shift = u32::try_from(e.unsigned_abs())
            .ok()
            .filter(|_| i32::try_from(e).is_ok())
            .ok_or("overflow in decimal QuoRem")?;
        let (num, den) = if e < 0 {
            (self.value.clone(), &other.value * pow10(shift))
        } else {
            (&self.value * pow10(shift), other.value.clone())
        };
        let (mut q, r) = num.div_rem(&den);
        // Away from zero when the remainder is at least half the divisor.
        if (r.magnitude() << 1u8) >= *den.magnitude() {
            if (self.value.sign() == Sign::Minus) != (other.value.sign() == Sign::Minus) {
                q -= 1;
            } else {
                q += 1;
            }
        }
        Ok(Decimal {
            value: q,
            exp: -DIVISION_PRECISION,
        })
    }

    /// `Float64`: the nearest float64, ties to even, infinite past the range.
    pub(super) fn to_f64(&self) -> f64 {
        // Rust's float parsing rounds any decimal string correctly, as `big.Rat.Float64`.
        format!("{}e{}", self.value, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: f64) -> Decimal {
        Decimal::from_f64(v).unwrap()
    }

    #[test]
    fn floats_become_their_shortest_decimal() {
        assert_eq!(
            d(0.1),
            Decimal {
                value: 1.into(),
                exp: -1
            }
        );
        assert_eq!(
            d(-1234.5),
            Decimal {
                value: (-12345).into(),
                exp: -1
            }
        );
        assert_eq!(
            d(1e300),
            Decimal {
                value: 1.into(),
                exp: 300
            }
        );
        assert_eq!(d(-0.0), d(0.0));
        assert_eq!(
            Decimal::from_f64(f64::NAN).unwrap_err(),
            "Cannot create a Decimal from NaN"
        );
        assert_eq!(
            Decimal::from_f64(f64::NEG_INFINITY).unwrap_err(),
            "Cannot create a Decimal from -Inf"
        );
    }

    #[test]
    fn sums_and_products_are_exact() {
        assert_eq!(d(0.1).add(&d(0.2)).to_f64(), 0.3);
        assert_eq!(d(1.1).add(&d(2.2)).to_f64(), 3.3);
        assert_eq!(d(0.3).sub(&d(0.1)).to_f64(), 0.2);
        assert_eq!(d(1.1).mul(&d(1.1)).unwrap().to_f64(), 1.21);
        // Exact across a wide gap of exponents, then rounded once.
        assert_eq!(d(1e20).add(&d(1e-20)).to_f64(), 1e20);
        assert_eq!(d(1e308).mul(&d(10.0)).unwrap().to_f64(), f64::INFINITY);
    }

    #[test]
    fn quotients_keep_sixteen_places_rounded_half_away_from_zero() {
        // shopspring's own examples: 20.2 / 5.25 and 2 / 3.
        assert_eq!(d(20.2).div(&d(5.25)).unwrap().to_f64(), 3.8476190476190477);
        assert_eq!(d(2.0).div(&d(3.0)).unwrap().to_f64(), 0.6666666666666667);
        assert_eq!(d(-2.0).div(&d(3.0)).unwrap().to_f64(), -0.6666666666666667);
        assert_eq!(d(1.0).div(&d(-3.0)).unwrap().to_f64(), -0.3333333333333333);
        // Below 10^-16 a quotient is 0 or one unit of the last place.
        assert_eq!(d(1e-20).div(&d(1.0)).unwrap().to_f64(), 0.0);
        assert_eq!(d(6e-17).div(&d(1.0)).unwrap().to_f64(), 1e-16);
        assert_eq!(d(-5e-17).div(&d(1.0)).unwrap().to_f64(), -1e-16);
        assert_eq!(d(4.9e-17).div(&d(1.0)).unwrap().to_f64(), 0.0);
        assert_eq!(d(1.0).div(&d(0.0)).unwrap_err(), "decimal division by 0");
    }
}
