//! Exact money in 万元, kept as published.
//!
//! A fee such as `14852.1812` 万元 is an integer mantissa and a scale, so it is
//! exact and prints back exactly as it was written (trailing zeros included).

use std::{cmp::Ordering, fmt, str::FromStr};

/// The most decimals a fee may carry: 6 decimals of 万元 is one 分.
pub const MAX_SCALE: u32 = 6;

/// Longest accepted digit string; beyond it the mantissa would not fit.
const MAX_DIGITS: usize = 30;

/// An exact decimal amount of 万元: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Money {
    mantissa: i128,
    scale: u32,
}

/// Why a string is not an amount of money.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing to read.
    #[error("empty amount")]
    Empty,
    /// A character that is not a digit, one '.', or a leading '-'.
    #[error("'{0}' is not a decimal amount of 万元")]
    NotDecimal(String),
    /// More digits than can be held exactly.
    #[error("'{0}' has too many digits")]
    TooLong(String),
    /// Summing overflowed.
    #[error("sum of amounts overflows")]
    Overflow,
}

impl Money {
    /// Zero 万元, written "0".
    pub const ZERO: Money = Money {
        mantissa: 0,
        scale: 0,
    };

    /// A whole number of 万元, written without decimals.
    pub fn from_wan_yuan(n: u64) -> Money {
        Money {
            mantissa: i128::from(n),
            scale: 0,
        }
    }

    /// Digits after the decimal point, as published.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// True when the amount is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The amount in millionths of 万元 (that is, in 分 ÷ 100), if it is
    /// exact to the 分 and fits.
    pub fn to_micro(&self) -> Option<i128> {
        let up = MAX_SCALE.checked_sub(self.scale)?;
        self.mantissa.checked_mul(10i128.checked_pow(up)?)
    }

    /// Exact sum, keeping the larger scale; `None` on overflow.
    pub fn checked_add(&self, other: &Money) -> Option<Money> {
        let scale = self.scale.max(other.scale);
        let a = rescale(self.mantissa, self.scale, scale)?;
        let b = rescale(other.mantissa, other.scale, scale)?;
        Some(Money {
            mantissa: a.checked_add(b)?,
            scale,
        })
    }

    /// Exact difference, keeping the larger scale; `None` on overflow.
    pub fn checked_sub(&self, other: &Money) -> Option<Money> {
        let scale = self.scale.max(other.scale);
        let a = rescale(self.mantissa, self.scale, scale)?;
        let b = rescale(other.mantissa, other.scale, scale)?;
        Some(Money {
            mantissa: a.checked_sub(b)?,
            scale,
        })
    }
}

fn rescale(mantissa: i128, from: u32, to: u32) -> Option<i128> {
    mantissa.checked_mul(10i128.checked_pow(to.checked_sub(from)?)?)
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let digits_ok = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits_ok(int) || !digits_ok(frac) || body.ends_with('.') {
            return Err(MoneyError::NotDecimal(s.to_owned()));
        }
        if int.len().saturating_add(frac.len()) > MAX_DIGITS {
            return Err(MoneyError::TooLong(s.to_owned()));
        }
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b.wrapping_sub(b'0'))))
                .ok_or_else(|| MoneyError::TooLong(s.to_owned()))?;
        }
        if negative {
            mantissa = mantissa.checked_neg().ok_or(MoneyError::Overflow)?;
        }
        let scale = u32::try_from(frac.len()).map_err(|_| MoneyError::TooLong(s.to_owned()))?;
        Ok(Money { mantissa, scale })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::try_from(self.scale).map_err(|_| fmt::Error)?;
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale.saturating_add(1));
        let (int, frac) = padded.split_at(padded.len().saturating_sub(scale));
        write!(f, "{sign}{int}.{frac}")
    }
}

impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Money {
    /// Compares by value: `1.50` equals `1.5` in value though not as written.
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (
            rescale(self.mantissa, self.scale, scale),
            rescale(other.mantissa, other.scale, scale),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Only reachable for mantissas near i128::MAX; fall back on sign.
            _ => self.mantissa.signum().cmp(&other.mantissa.signum()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_back_exactly_as_published() {
        for s in ["14852.1812", "0", "0.0000", "12.500000", "-3.25", "0.05"] {
            assert_eq!(s.parse::<Money>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_what_is_not_a_decimal() {
        for s in [
            "",
            "1e5",
            "1.2.3",
            "12.",
            ".5",
            "1,000",
            "１２",
            "NaN",
            "251000元",
        ] {
            assert!(s.parse::<Money>().is_err(), "{s:?} parsed");
        }
        let long = "9".repeat(40);
        assert_eq!(
            long.parse::<Money>(),
            Err(MoneyError::TooLong(long.clone()))
        );
    }

    #[test]
    fn sums_exactly_across_scales() {
        let a: Money = "14852.1812".parse().unwrap();
        let b: Money = "0.000001".parse().unwrap();
        assert_eq!(a.checked_add(&b).unwrap().to_string(), "14852.181201");
        assert_eq!(a.to_micro(), Some(14_852_181_200));
        assert_eq!("1.1234567".parse::<Money>().unwrap().to_micro(), None);
        let back = a.checked_add(&b).unwrap().checked_sub(&b).unwrap();
        assert_eq!(back.cmp(&a), Ordering::Equal);
        assert_eq!(back.to_string(), "14852.181200");
    }

    #[test]
    fn compares_by_value() {
        let a: Money = "1.50".parse().unwrap();
        let b: Money = "1.5".parse().unwrap();
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert!("-1".parse::<Money>().unwrap() < Money::ZERO);
    }
}
