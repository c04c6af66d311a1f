use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn write(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), text).expect("write config");
    file
}

#[test]
fn no_file_gives_the_embedded_default_on_loopback() {
    let config = Config::load(None, env(&[])).expect("defaults are valid");
    assert_eq!(config.store.backend, StoreBackend::Embedded);
    assert!(config.server.listen.ip().is_loopback());
    assert_eq!(config.store.path, PathBuf::from("data/events.db"));
    assert!(config.database_url().expose().starts_with("sqlite://data/aftercare.db"));
}

#[test]
fn environment_overrides_the_file() {
    let file = write(
        "[store]\nbackend = \"jetstream\"\nurl = \"nats://nats-0:4222\"\nreplicas = 3\nduplicate_window = \"2m\"\n",
    );
    let config = Config::load(
        Some(file.path()),
        env(&[
            ("AFTERCARE__STORE__URL", "nats://nats.aftercare.svc:4222"),
            ("AFTERCARE__PROJECTIONS__BATCH_SIZE", "500"),
            ("AFTERCARE__DATABASE__URL", "postgres://care:pw@db/aftercare"),
            ("UNRELATED", "ignored"),
        ]),
    )
    .expect("valid");
    assert_eq!(config.store.url, "nats://nats.aftercare.svc:4222");
    assert_eq!(config.store.replicas, 3);
    assert_eq!(config.store.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.projections.batch_size, 500);
    assert_eq!(config.database_url().expose(), "postgres://care:pw@db/aftercare");
}

#[test]
fn every_error_is_reported_at_once_with_its_key() {
    let file = write(
        "[store]\nbackend = \"jetstream\"\nurl = \"http://wrong\"\nreplicas = 9\n\
         [database]\nmax_connections = \"many\"\n\
         [projections]\nbatch_size = 0\n\
         [telemetry]\ncolour = true\n\
         [nonsense]\nx = 1\n",
    );
    let err = Config::load(Some(file.path()), env(&[("AFTERCARE__STORE__ACK_TIMEOUT", "soon")]))
        .expect_err("invalid");
    let text = err.to_string();
    for fragment in ["store", "database", "projections.batch_size", "telemetry", "nonsense: unknown section"] {
        assert!(text.contains(fragment), "missing {fragment:?} in:\n{text}");
    }
    assert!(err.0.len() >= 5, "{text}");
}

#[test]
fn semantic_errors_name_their_keys() {
    let file = write("[store]\nbackend = \"jetstream\"\nurl = \"http://wrong\"\nreplicas = 9\n");
    let err = Config::load(Some(file.path()), env(&[])).expect_err("invalid");
    let text = err.to_string();
    assert!(text.contains("store.url"), "{text}");
    assert!(text.contains("store.replicas: 9"), "{text}");
}

#[test]
fn secrets_are_not_printed() {
    let file = write(
        "[database]\nurl = \"postgres://care:hunter2-password@db/aftercare\"\n\
         [[auth.tokens]]\nname = \"oem\"\ntoken = \"tok-abcdefghijklmnop\"\nroles = [\"oem\"]\nscope = \"all\"\n",
    );
    let config = Config::load(Some(file.path()), env(&[])).expect("valid");
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains("tok-abcdefghijklmnop"), "{printed}");
    // Errors about a token do not print it either.
    let bad = write("[[auth.tokens]]\nname = \"oem\"\ntoken = \"short-secret\"\nroles = [\"oem\"]\nscope = \"all\"\n");
    let err = Config::load(Some(bad.path()), env(&[])).expect_err("short token");
    assert!(!err.to_string().contains("short-secret"), "{err}");
    assert!(err.to_string().contains("auth.tokens[0] (oem).token"), "{err}");
}

#[test]
fn durations_read_as_written() {
    assert_eq!(duration::parse("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(duration::parse("1h"), Ok(Duration::from_secs(3600)));
    assert!(duration::parse("2 weeks").is_err());
}
