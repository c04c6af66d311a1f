//! Environment overrides and human-written durations.

use super::ENV_PREFIX;

/// `AFTERCARE__STORE__URL=nats://…` sets `store.url`. Values that parse as TOML
/// (numbers, booleans, arrays) take that type; anything else is a string.
pub(super) fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<String>,
) {
    for (key, raw) in env {
        let Some(path) = key.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            errors.push(format!("{key}: empty key segment"));
            continue;
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        if let Err(reason) = insert_path(table, &keys, value) {
            errors.push(format!("{key}: {reason}"));
        }
    }
}

fn insert_path(node: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        node.insert(first.clone(), value);
        return Ok(());
    }
    match node
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(Default::default()))
    {
        toml::Value::Table(child) => insert_path(child, rest, value),
        _ => Err(format!("{first} is not a section")),
    }
}

/// Durations as humans write them: `"2m"`, `"500ms"`, `"5s"`, `"1h"`.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like \"5s\""))?;
        match unit {
            "ms" => Ok(Duration::from_millis(n)),
            "s" | "" => Ok(Duration::from_secs(n)),
            "m" => Ok(Duration::from_secs(n * 60)),
            "h" => Ok(Duration::from_secs(n * 3600)),
            "d" => Ok(Duration::from_secs(n * 86400)),
            _ => Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
            )),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    #[allow(dead_code)]
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{}ms", value.as_millis()))
    }
}
