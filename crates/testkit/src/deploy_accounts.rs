//! The `accounts { ... }` block of the production NATS configuration
//! (deploy/nats/nats.conf), for tests that run nats-server with the same users
//! and permissions as a deployment.

/// The accounts block and the `system_account` line, with the commented
/// `dms-D001` and `oem` examples switched on.
pub fn deploy_nats_accounts() -> String {
    let conf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/nats/nats.conf"
    ))
    .expect("read deploy/nats/nats.conf");
    let mut block = Vec::new();
    let mut depth = 0usize;
    for line in conf.lines() {
        let code = line.split('#').next().unwrap_or("");
        if depth == 0 && !code.trim_start().starts_with("accounts") {
            if code.trim_start().starts_with("system_account") {
                block.push(line.to_owned());
            }
            continue;
        }
        depth = (depth + code.matches('{').count()).saturating_sub(code.matches('}').count());
        block.push(uncomment_example(line));
    }
    block.join("\n") + "\n"
}

/// [`deploy_nats_accounts`] with every `$NAME` password variable replaced by its
/// value from `passwords`, for a server started without those variables.
pub fn deploy_nats_accounts_with(passwords: &[(&str, &str)]) -> String {
    let mut block = deploy_nats_accounts();
    // Longest names first, so `$A_B` is not replaced inside `$A_BC`.
    let mut passwords = passwords.to_vec();
    passwords.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in passwords {
        block = block.replace(&format!("${name}"), &format!("\"{value}\""));
    }
    block
}

/// `#   user: dms-D001` becomes `    user: dms-D001`; prose comments stay comments.
fn uncomment_example(line: &str) -> String {
    let Some(comment) = line.trim_start().strip_prefix('#') else {
        return line.to_owned();
    };
    let body = comment.trim_start();
    let is_config = body.starts_with('{')
        || body.starts_with('}')
        || body.split_once(':').is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
    if is_config {
        line.replacen('#', " ", 1)
    } else {
        line.to_owned()
    }
}
