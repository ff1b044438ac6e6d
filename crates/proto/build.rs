//! Compiles `proto/` with protox (a pure-Rust protobuf compiler, so no `protoc`
//! is needed) and generates prost messages and tonic services from it.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "gongkai/v1/report.proto",
        "gongkai/v1/resources.proto",
        "gongkai/v1/agency_service.proto",
        "gongkai/v1/report_service.proto",
        "gongkai/v1/review_service.proto",
        "gongkai/v1/audit_service.proto",
        "gongkai/v1/admin_service.proto",
        "gongkai/v1/area_service.proto",
        "gongkai/v1/document_service.proto",
        "gongkai/store/v1/store.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(files, [&root])?;

    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("gongkai_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        // Written by hand so the server can send stored revision bytes as
        // they are (see src/get_report.rs); the wire is the proto's.
        .extern_path(
            ".gongkai.v1.GetReportResponse",
            "crate::get_report::GetReportResponse",
        )
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
