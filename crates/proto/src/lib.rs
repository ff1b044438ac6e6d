//! gongkai's wire API: prost messages and tonic services generated from
//! `proto/gongkai/v1`, plus the encoded descriptor set that server reflection
//! serves. Nothing here is hand-written except this file.

/// Package `gongkai.v1`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/gongkai.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every gongkai proto file, for
/// `tonic-reflection` (both v1 and v1alpha).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/gongkai_descriptor.bin"));
