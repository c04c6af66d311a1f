//! Compiles every `proto/aftercare/**/v1/*.proto` with protox (a protobuf compiler
//! in Rust), so the build needs no system `protoc`, and keeps the file descriptor
//! set for gRPC reflection.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    collect_protos(&root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rerun-if-changed={}", root.display());

    let descriptors = protox::compile(&files, [&root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("aftercare_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // Type names (prost's `Name`) let the checked codec find a request's
    // descriptor; every service decodes through it.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .codec_path("crate::edge::CheckedCodec")
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto")
            && path.parent().is_some_and(|p| p.ends_with("v1"))
        {
            out.push(path);
        }
    }
    Ok(())
}
