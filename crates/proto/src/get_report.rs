//! `gongkai.v1.GetReportResponse`, the one message written by hand.
//!
//! Revisions never change, and the store keeps each one as its encoded
//! protobuf. This type lets the server send those bytes as they are instead
//! of decoding and re-encoding 3–4 KB on every read (≈ 13 % of a GetReport's
//! server time). On the wire it is exactly the message in
//! `report_service.proto` (field 1, a `ReportRevision`), so every client,
//! generated from the proto files or not, decodes it as usual.

use prost::{
    DecodeError, Message,
    bytes::{Buf, BufMut, Bytes},
    encoding::{self, DecodeContext, WireType},
};

use crate::v1::ReportRevision;

/// GetReport's response.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct GetReportResponse {
    /// The revision. A decoded response always has it here.
    pub revision: Option<ReportRevision>,
    /// The revision already encoded as a `ReportRevision` (the server sets
    /// this from the store); sent in place of `revision` when set, and never
    /// set by decoding.
    pub encoded_revision: Option<Bytes>,
}

impl GetReportResponse {
    /// A response that sends `encoded` (an encoded `ReportRevision`) as it is.
    pub fn encoded(encoded: Bytes) -> GetReportResponse {
        GetReportResponse {
            revision: None,
            encoded_revision: Some(encoded),
        }
    }
}

/// Field number of `revision`.
const REVISION: u32 = 1;

impl Message for GetReportResponse {
    fn encode_raw(&self, buf: &mut impl BufMut)
    where
        Self: Sized,
    {
        if let Some(bytes) = &self.encoded_revision {
            encoding::bytes::encode(REVISION, bytes, buf);
        } else if let Some(revision) = &self.revision {
            encoding::message::encode(REVISION, revision, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>
    where
        Self: Sized,
    {
        if tag == REVISION {
            let revision = self.revision.get_or_insert_with(ReportRevision::default);
            encoding::message::merge(wire_type, revision, buf, ctx).map_err(|mut e| {
                e.push("GetReportResponse", "revision");
                e
            })
        } else {
            encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        if let Some(bytes) = &self.encoded_revision {
            encoding::bytes::encoded_len(REVISION, bytes)
        } else if let Some(revision) = &self.revision {
            encoding::message::encoded_len(REVISION, revision)
        } else {
            0
        }
    }

    fn clear(&mut self) {
        *self = GetReportResponse::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::ReviewState;

    /// The generated twin of the proto message, for comparing wire bytes.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Generated {
        #[prost(message, optional, tag = "1")]
        revision: Option<ReportRevision>,
    }

    fn revision() -> ReportRevision {
        ReportRevision {
            name: "agencies/112305230123456785/reports/2024/revisions/3".into(),
            revision: 3,
            state: ReviewState::Submitted.into(),
            previous_revision: 2,
            author: "baoqing-office".into(),
            ..ReportRevision::default()
        }
    }

    #[test]
    fn encoded_and_decoded_forms_are_the_generated_wire_bytes() {
        let r = revision();
        let generated = Generated {
            revision: Some(r.clone()),
        }
        .encode_to_vec();
        let decoded_form = GetReportResponse {
            revision: Some(r.clone()),
            encoded_revision: None,
        };
        assert_eq!(decoded_form.encode_to_vec(), generated);
        assert_eq!(decoded_form.encoded_len(), generated.len());
        let encoded_form = GetReportResponse::encoded(Bytes::from(r.encode_to_vec()));
        assert_eq!(encoded_form.encode_to_vec(), generated);
        assert_eq!(encoded_form.encoded_len(), generated.len());
        let back = GetReportResponse::decode(generated.as_slice()).expect("decodes");
        assert_eq!(back.revision, Some(r));
        assert_eq!(back.encoded_revision, None);
    }

    #[test]
    fn empty_and_unknown_fields() {
        assert!(GetReportResponse::default().encode_to_vec().is_empty());
        // Field 2 (unknown, varint 7) is skipped; field 1 still decodes.
        let mut bytes = vec![0x10, 0x07];
        bytes.extend(
            Generated {
                revision: Some(revision()),
            }
            .encode_to_vec(),
        );
        let back = GetReportResponse::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(back.revision, Some(revision()));
        // A truncated revision is an error, not a partial message.
        let cut = &bytes[..bytes.len() - 3];
        assert!(GetReportResponse::decode(cut).is_err());
    }
}
