use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
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
    assert!(
        config
            .database_url()
            .expose()
            .starts_with("sqlite://data/aftercare.db")
    );
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
            (
                "AFTERCARE__DATABASE__URL",
                "postgres://care:pw@db/aftercare",
            ),
            ("UNRELATED", "ignored"),
        ]),
    )
    .expect("valid");
    assert_eq!(config.store.url, "nats://nats.aftercare.svc:4222");
    assert_eq!(config.store.replicas, 3);
    assert_eq!(config.store.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.projections.batch_size, 500);
    assert_eq!(
        config.database_url().expose(),
        "postgres://care:pw@db/aftercare"
    );
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
    let err = Config::load(
        Some(file.path()),
        env(&[("AFTERCARE__STORE__ACK_TIMEOUT", "soon")]),
    )
    .expect_err("invalid");
    let text = err.to_string();
    for fragment in [
        "store",
        "database",
        "projections.batch_size",
        "telemetry",
        "nonsense: unknown section",
    ] {
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
fn the_consoles_upstreams_and_session_key_are_checked() {
    let file = write(
        "[web.upstreams]\ncallback = \"http://aftercare-callback:50051\"\n\
         workshop = \"http://aftercare-workshop:50051\"\nintake = \"aftercare-intake:50051\"\n",
    );
    let err = Config::load(
        Some(file.path()),
        env(&[("AFTERCARE__WEB__SESSION_KEY", "0123456789")]),
    )
    .expect_err("three mistakes");
    let text = err.to_string();
    assert!(
        text.contains("web.upstreams.workshop: not a service"),
        "{text}"
    );
    assert!(
        text.contains(
            "web.upstreams.intake: \"aftercare-intake:50051\" must be an http:// address"
        ),
        "{text}"
    );
    assert!(
        text.contains("web.session_key: must be 64 hexadecimal"),
        "{text}"
    );
    assert!(
        !text.contains("0123456789"),
        "the key is not printed: {text}"
    );
    let good = write("[web.upstreams]\ncallback = \"http://aftercare-callback:50051\"\n");
    let key = "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";
    let config = Config::load(
        Some(good.path()),
        env(&[("AFTERCARE__WEB__SESSION_KEY", key)]),
    )
    .expect("valid");
    assert_eq!(
        config.web.upstreams.get("callback").map(String::as_str),
        Some("http://aftercare-callback:50051")
    );
    assert!(
        !format!("{config:?}").contains(key),
        "the key is not printed"
    );
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
    let bad = write(
        "[[auth.tokens]]\nname = \"oem\"\ntoken = \"short-secret\"\nroles = [\"oem\"]\nscope = \"all\"\n",
    );
    let err = Config::load(Some(bad.path()), env(&[])).expect_err("short token");
    assert!(!err.to_string().contains("short-secret"), "{err}");
    assert!(
        err.to_string().contains("auth.tokens[0] (oem).token"),
        "{err}"
    );
}

#[test]
fn durations_read_as_written() {
    assert_eq!(duration::parse("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(duration::parse("1h"), Ok(Duration::from_secs(3600)));
    assert!(duration::parse("2 weeks").is_err());
}

#[test]
fn tokens_file_adds_tokens_and_groups() {
    let tokens = write(
        "[groups]\nnorth = [\"D001\", \"D002\"]\n\
         [[tokens]]\nname = \"north\"\ntoken = \"north-token-0123456789\"\nroles = [\"care-manager\"]\nscope = \"group:north\"\n",
    );
    let path = tokens.path().display().to_string();
    let config =
        Config::load(None, env(&[("AFTERCARE__AUTH__TOKENS_FILE", &path)])).expect("valid");
    assert_eq!(config.auth.tokens.len(), 1);
    let table = crate::TokenTable::from_config(&config.auth).expect("tokens");
    assert!(table.lookup("north-token-0123456789").is_some());
    let missing = Config::load(
        None,
        env(&[("AFTERCARE__AUTH__TOKENS_FILE", "/nonexistent/tokens.toml")]),
    );
    assert!(
        missing
            .expect_err("missing file")
            .to_string()
            .contains("auth.tokens_file")
    );
}

/// The configuration Kubernetes gets (deploy/k8s/base/aftercare-config.yaml) loads,
/// with the overrides the Deployments set.
#[test]
fn the_shipped_kubernetes_configuration_loads() {
    let yaml = include_str!("../../../../deploy/k8s/base/aftercare-config.yaml");
    let start = yaml
        .find("aftercare.toml: |")
        .expect("the ConfigMap holds aftercare.toml");
    let toml: String = yaml[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.get(4..).unwrap_or_default()))
        .collect();
    let file = write(&toml);
    let tokens = write(
        "[[tokens]]\nname = \"oem\"\ntoken = \"oem-token-0123456789\"\nroles = [\"oem\"]\nscope = \"all\"\n",
    );
    let tokens_path = tokens.path().display().to_string();
    let config = Config::load(
        Some(file.path()),
        env(&[
            (
                "AFTERCARE__STORE__URL",
                "nats://aftercare:pw@nats.aftercare.svc:4222",
            ),
            (
                "AFTERCARE__DATABASE__URL",
                "postgres://aftercare:pw@postgres/aftercare",
            ),
            ("AFTERCARE__AUTH__TOKENS_FILE", &tokens_path),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}\n--- extracted ---\n{toml}"));
    assert_eq!(config.store.backend, StoreBackend::JetStream);
    assert_eq!(config.store.replicas, 3);
    assert!(!config.server.listen.ip().is_loopback());
    for service in super::CONSOLE_SERVICES {
        assert!(
            config.web.upstreams.contains_key(service),
            "the console has no address for {service}"
        );
    }
}

/// A section of the dealer tables as a service declares one.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Reminders {
    birthday_days: u32,
}

impl super::DealerSection for Reminders {
    const KEYS: &'static [&'static str] = &["birthday_days"];

    fn check(&self, key: &str, errors: &mut Vec<String>) {
        if self.birthday_days > 30 {
            errors.push(format!("{key}.birthday_days: at most 30"));
        }
    }
}

#[test]
fn each_dealer_has_its_clock_and_a_service_its_section() {
    let file = write(
        "[dealers.default]\nbirthday_days = 3\n\
         [dealers.D042]\nbirthday_days = 7\n\
         [dealers.D077]\ntime_zone = \"Asia/Urumqi\"\nlanguage = \"en\"\n",
    );
    let config = Config::load(Some(file.path()), env(&[])).expect("valid");
    assert_eq!(config.dealers.rules("D042").time_zone_name, "Asia/Shanghai");
    assert_eq!(config.dealers.rules("D077").time_zone_name, "Asia/Urumqi");
    assert_eq!(
        config.dealers.rules("D042").language,
        aftercare_kernel::Language::Chinese,
        "Chinese unless set"
    );
    assert_eq!(
        config.dealers.rules("D077").language,
        aftercare_kernel::Language::English
    );
    let mut errors = Vec::new();
    let reminders: super::Dealers<Reminders> = config.dealers.section(&mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(reminders.rules("D042").birthday_days, 7);
    assert_eq!(reminders.rules("D077").birthday_days, 3, "the default");
    assert_eq!(reminders.rules("D077").time_zone_name, "Asia/Urumqi");
    assert_eq!(
        reminders.rules("D077").language,
        aftercare_kernel::Language::English
    );
    assert_eq!(reminders.rules("D999").birthday_days, 3);
}

#[test]
fn bad_dealer_values_and_unknown_keys_are_named_with_everything_else() {
    let file = write(
        "[projections]\nbatch_size = 0\n\
         [dealers.D042]\ntime_zone = \"Mars/Olympus\"\nbirthday_days = 40\nlanguage = \"fr\"\n\
         [dealers.D043]\nbirthday_day = 8\n\
         [dealers.\"bad dealer\"]\nbirthday_days = 8\n",
    );
    let err = Config::load_checked(Some(file.path()), env(&[]), |config, errors| {
        config.dealers.section::<Reminders>(errors);
        config
            .dealers
            .check_keys(<Reminders as super::DealerSection>::KEYS, errors);
    })
    .expect_err("invalid");
    let text = err.to_string();
    for fragment in [
        "projections.batch_size",
        "dealers.D042.time_zone: \"Mars/Olympus\"",
        "dealers.D042.birthday_days: at most 30",
        "dealers.D042.language: \"fr\" is not a language",
        "dealers.D043.birthday_day: unknown key",
        "dealers.bad dealer: not a dealer id",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in:\n{text}");
    }
}
