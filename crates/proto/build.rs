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
    std::fs::write(out_dir.join("event_types.rs"), event_types(&descriptors))?;
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

/// `pub const VISIT_RECORDED: &str = "aftercare.intake.v1.VisitRecorded";` for
/// every event of every context, in a module per context. The events are the
/// messages of an `events.proto` that no other message there uses as a field
/// (those are parts of events, such as a customer's phone).
fn event_types(set: &prost_types::FileDescriptorSet) -> String {
    let mut out = String::new();
    for file in &set.file {
        if !file.name().ends_with("/events.proto") {
            continue;
        }
        let package = file.package();
        let context = package.split('.').nth(1).unwrap_or(package);
        let used: Vec<String> = file
            .message_type
            .iter()
            .flat_map(|m| m.field.iter())
            .map(|f| {
                f.type_name()
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        out.push_str(&format!(
            "/// The event types of `{package}`.\npub mod {context} {{\n"
        ));
        for message in &file.message_type {
            let name = message.name();
            if used.iter().any(|u| u == name) {
                continue;
            }
            out.push_str(&format!(
                "    pub const {}: &str = \"{package}.{name}\";\n",
                screaming_snake(name)
            ));
        }
        out.push_str("}\n");
    }
    out
}

/// `VisitRecorded` → `VISIT_RECORDED`.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
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
