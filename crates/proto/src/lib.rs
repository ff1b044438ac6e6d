//! gongkai's wire API: prost messages and tonic services generated from
//! `proto/`, plus the encoded descriptor set that server reflection serves.
//! Nothing here is hand-written except this file and `GetReportResponse`
//! (src/get_report.rs), which can carry a stored revision's bytes as they are.

mod get_report;

/// Generated packages, nested as their proto packages are so that
/// cross-package references resolve.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]
pub mod gongkai {
    /// Package `gongkai.v1`: the API.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/gongkai.v1.rs"));
        pub use crate::get_report::GetReportResponse;
    }
    /// Package `gongkai.store.v1`: records the store keeps for itself.
    pub mod store {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/gongkai.store.v1.rs"));
        }
    }
}

pub use gongkai::{store::v1 as store_v1, v1};

/// The encoded `FileDescriptorSet` of every gongkai proto file and its
/// imports, for `tonic-reflection` (both v1 and v1alpha).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/gongkai_descriptor.bin"));
