//! Stored values: one format byte, then protobuf. A value or a store written
//! by a newer gongkai is refused, never misread.

use prost::Message;

use crate::{Result, StoreError};

/// The format this build writes and the newest it reads.
///
/// 2: a stored report may list `absent_rows` (rows its document did not
/// contain); a format-1 reader would take their cells for zeros, so it must
/// refuse these values rather than misread them.
///
/// 3: request records fingerprint their request under the operation's
/// stable id, not a message's verb (`rules/idempotency.rs`); a format-2
/// reader would take every retry of one for a reused request id.
pub const STORE_FORMAT: u32 = 3;

/// The tag byte of [`STORE_FORMAT`] values; every older tag (from 1) still
/// reads, as protobuf only ever gained fields.
const VALUE_TAG: u8 = 3;

/// The format tag of a stored value, checked as [`body`] checks it.
pub(crate) fn tag(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u8> {
    body(tree, key, bytes)?;
    Ok(bytes.first().copied().unwrap_or_default())
}

/// Encodes a message as a stored value.
pub(crate) fn encode<M: Message>(m: &M) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.encoded_len().saturating_add(1));
    out.push(VALUE_TAG);
    // Encoding into a Vec cannot run out of space.
    let _ = m.encode(&mut out);
    out
}

/// The protobuf of a stored value, undecoded (its format tag checked).
pub(crate) fn body<'a>(tree: &'static str, key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8]> {
    match bytes.split_first() {
        Some((&tag, body)) if (1..=VALUE_TAG).contains(&tag) => Ok(body),
        Some((&tag, _)) if u32::from(tag) > STORE_FORMAT => Err(StoreError::NewerFormat {
            found: u32::from(tag),
            supported: STORE_FORMAT,
        }),
        Some((&tag, _)) => Err(StoreError::Corrupt {
            tree,
            key: hex::encode(key),
            reason: format!("unknown value format tag {tag}"),
        }),
        None => Err(StoreError::Corrupt {
            tree,
            key: hex::encode(key),
            reason: "empty value".into(),
        }),
    }
}

/// Decodes a stored value, naming the tree and key when it is not one.
pub(crate) fn decode<M: Message + Default>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<M> {
    M::decode(body(tree, key, bytes)?).map_err(|e| StoreError::Corrupt {
        tree,
        key: hex::encode(key),
        reason: format!("undecodable: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use gongkai_proto::v1::Agency;

    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let a = Agency {
            uscc: "11330700099033995K".into(),
            ..Agency::default()
        };
        let bytes = encode(&a);
        assert_eq!(decode::<Agency>("agencies", b"k", &bytes).unwrap(), a);
        assert!(matches!(
            decode::<Agency>("agencies", b"k", &[]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode::<Agency>("agencies", b"k", &[4, 0]),
            Err(StoreError::NewerFormat {
                found: 4,
                supported: 3
            })
        ));
        // Values of formats 1 and 2, as stores written before format 3 hold them.
        for format in [1, 2] {
            let mut old = bytes.clone();
            old[0] = format;
            assert_eq!(decode::<Agency>("agencies", b"k", &old).unwrap(), a);
            assert_eq!(tag("agencies", b"k", &old).unwrap(), format);
        }
        assert_eq!(tag("agencies", b"k", &bytes).unwrap(), 3);
        assert!(matches!(
            decode::<Agency>("agencies", b"k", &[1, 0xff, 0xff]),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(body("agencies", b"k", &bytes).unwrap(), a.encode_to_vec());
        assert!(matches!(
            body("agencies", b"k", &[]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            body("agencies", b"k", &[4, 0]),
            Err(StoreError::NewerFormat { found: 4, .. })
        ));
    }
}
