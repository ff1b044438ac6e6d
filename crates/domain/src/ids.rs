//! Identifiers: 统一社会信用代码 (GB 32100-2015) and 行政区划代码 (GB/T 2260).

use std::fmt;

/// The 31 characters of a 统一社会信用代码, in value order (no I, O, S, V, Z).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights 3^i mod 31 for positions 1..17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Province-level prefixes of GB/T 2260 (two digits).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// What is wrong with an identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdError {
    /// Not the right number of characters.
    Length { expected: usize, actual: usize },
    /// A character outside the allowed set, at a 1-based position.
    Character { position: usize, found: char },
    /// The 18th character of a 统一社会信用代码 does not match the other 17.
    CheckCharacter { expected: char, actual: char },
    /// A 行政区划代码 whose province part is not a province.
    UnknownProvince(String),
    /// A 行政区划代码 of all zeros in its lower parts where a part is required, etc.
    Malformed(&'static str),
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length { expected, actual } => {
                write!(
                    f,
                    "长度应为{expected}位，实为{actual}位 — must be {expected} characters, found {actual}"
                )
            }
            IdError::Character { position, found } => {
                write!(
                    f,
                    "第{position}位字符“{found}”不合法 — character {position} '{found}' is not allowed"
                )
            }
            IdError::CheckCharacter { expected, actual } => {
                write!(
                    f,
                    "校验码应为{expected}，实为{actual} — check character should be {expected}, found {actual}"
                )
            }
            IdError::UnknownProvince(p) => {
                write!(f, "省级代码“{p}”不存在 — no province has code {p}")
            }
            IdError::Malformed(why) => f.write_str(why),
        }
    }
}

fn uscc_value(c: char) -> Option<u32> {
    let b = u8::try_from(c).ok()?;
    let idx = USCC_ALPHABET.iter().position(|&a| a == b)?;
    u32::try_from(idx).ok()
}

/// The check character that the first 17 characters of a 统一社会信用代码 call for.
pub fn uscc_check_character(first17: &str) -> Result<char, IdError> {
    let chars: Vec<char> = first17.chars().collect();
    if chars.len() != 17 {
        return Err(IdError::Length {
            expected: 17,
            actual: chars.len(),
        });
    }
    let mut sum: u32 = 0;
    for (i, (&c, &w)) in chars.iter().zip(USCC_WEIGHTS.iter()).enumerate() {
        let v = uscc_value(c).ok_or(IdError::Character {
            position: i.saturating_add(1),
            found: c,
        })?;
        // At most 17 × 30 × 30: no overflow possible, but stay checked.
        sum = sum
            .checked_add(v.checked_mul(w).ok_or(IdError::Malformed("overflow"))?)
            .ok_or(IdError::Malformed("overflow"))?;
    }
    // sum % 31 ≤ 30, so the subtraction cannot underflow.
    let idx = 31u32.wrapping_sub(sum % 31) % 31;
    let idx = usize::try_from(idx).map_err(|_| IdError::Malformed("overflow"))?;
    Ok(char::from(USCC_ALPHABET[idx]))
}

/// Validates a 统一社会信用代码: 18 characters of the alphabet, positions 3–8
/// digits (the registering authority's 行政区划代码), and the check character.
pub fn validate_uscc(code: &str) -> Result<(), IdError> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(IdError::Length {
            expected: 18,
            actual: chars.len(),
        });
    }
    for (i, &c) in chars.iter().enumerate() {
        let position = i.saturating_add(1);
        let ok = if (2..8).contains(&i) {
            c.is_ascii_digit()
        } else {
            uscc_value(c).is_some()
        };
        if !ok {
            return Err(IdError::Character { position, found: c });
        }
    }
    let first17: String = chars[..17].iter().collect();
    let expected = uscc_check_character(&first17)?;
    let actual = chars[17];
    if expected != actual {
        return Err(IdError::CheckCharacter { expected, actual });
    }
    Ok(())
}

/// Validates a 行政区划代码: six digits whose first two name a province.
pub fn validate_region_code(code: &str) -> Result<(), IdError> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 6 {
        return Err(IdError::Length {
            expected: 6,
            actual: chars.len(),
        });
    }
    if let Some((i, &c)) = chars.iter().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(IdError::Character {
            position: i.saturating_add(1),
            found: c,
        });
    }
    let province = &code[..2];
    if !PROVINCES.contains(&province) {
        return Err(IdError::UnknownProvince(province.to_owned()));
    }
    if &code[2..4] == "00" && &code[4..6] != "00" {
        return Err(IdError::Malformed(
            "县级代码不能挂在地级代码00之下 — a county part under prefecture part 00",
        ));
    }
    Ok(())
}

/// The level a 行政区划代码 names: `XX0000` a province, `XXYY00` a prefecture,
/// anything else a county. Township bodies share their county's code.
pub fn region_level(code: &str) -> Option<crate::AgencyLevel> {
    validate_region_code(code).ok()?;
    Some(if &code[2..] == "0000" {
        crate::AgencyLevel::Provincial
    } else if &code[4..] == "00" {
        crate::AgencyLevel::Prefectural
    } else {
        crate::AgencyLevel::County
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_agency_codes_validate() {
        for code in ["11330700099033995K", "11341702486344515H"] {
            assert_eq!(validate_uscc(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn wrong_check_character_is_named() {
        assert_eq!(
            validate_uscc("11330700099033995J"),
            Err(IdError::CheckCharacter {
                expected: 'K',
                actual: 'J'
            })
        );
    }

    #[test]
    fn bad_shapes_are_named() {
        assert_eq!(
            validate_uscc("1133070009903399"),
            Err(IdError::Length {
                expected: 18,
                actual: 16
            })
        );
        // 'I' is not in the alphabet.
        assert_eq!(
            validate_uscc("I1330700099033995K"),
            Err(IdError::Character {
                position: 1,
                found: 'I'
            })
        );
        // Positions 3–8 must be digits.
        assert_eq!(
            validate_uscc("113A0700099033995K"),
            Err(IdError::Character {
                position: 4,
                found: 'A'
            })
        );
        assert!(validate_uscc("11330700099033995Ｋ").is_err());
    }

    #[test]
    fn region_codes() {
        assert_eq!(validate_region_code("230523"), Ok(()));
        assert_eq!(region_level("230523"), Some(crate::AgencyLevel::County));
        assert_eq!(
            region_level("230500"),
            Some(crate::AgencyLevel::Prefectural)
        );
        assert_eq!(region_level("230000"), Some(crate::AgencyLevel::Provincial));
        assert!(matches!(
            validate_region_code("990523"),
            Err(IdError::UnknownProvince(_))
        ));
        assert!(matches!(
            validate_region_code("23052"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            validate_region_code("23O523"),
            Err(IdError::Character { position: 3, .. })
        ));
        assert!(validate_region_code("230023").is_err());
    }
}
