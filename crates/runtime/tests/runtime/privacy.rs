//! The vault on SQLite and PostgreSQL: sealed personal data reads back with its
//! subject's key, and reads as erased, for good, once the key is destroyed.

use aftercare_runtime::privacy::{ERASED, PrivacyError, Vault};
use aftercare_runtime::projection::RUNTIME_MIGRATIONS;
use aftercare_runtime::{Database, Secret};

async fn vault_on(url: String) {
    let db = Database::connect(&Secret::new(url), 5)
        .await
        .expect("database");
    db.migrate(&RUNTIME_MIGRATIONS).await.expect("migrate");
    let vault = Vault::new(db.clone());
    let name = vault
        .seal("complaint/t1", "王先生 13812341234")
        .await
        .expect("sealed");
    assert!(
        !name.contains("王先生") && !name.contains("13812341234"),
        "{name}"
    );
    let other = vault.seal("complaint/t2", "李女士").await.expect("sealed");
    // Sealing the same text twice gives different text (a fresh nonce each time).
    assert_ne!(
        vault
            .seal("complaint/t1", "王先生 13812341234")
            .await
            .expect("sealed"),
        name
    );
    assert_eq!(vault.seal("complaint/t1", "").await.expect("empty"), "");

    let subjects = ["complaint/t1".to_owned(), "complaint/t2".to_owned()];
    let keys = vault.keyring(&subjects).await.expect("keys");
    assert_eq!(keys.open("complaint/t1", &name), "王先生 13812341234");
    assert_eq!(
        keys.open("complaint/t1", "plain text"),
        "plain text",
        "never sealed"
    );
    // A key opens only its own subject's data.
    assert_eq!(keys.open("complaint/t1", &other), ERASED);

    assert!(vault.erase("complaint/t1", 1).await.expect("erased"));
    assert!(
        !vault.erase("complaint/t1", 2).await.expect("answered"),
        "once"
    );
    let keys = vault.keyring(&subjects).await.expect("keys");
    assert_eq!(keys.open("complaint/t1", &name), ERASED);
    assert_eq!(
        keys.open("complaint/t2", &other),
        "李女士",
        "other subjects untouched"
    );
    assert!(matches!(
        vault.seal("complaint/t1", "again").await,
        Err(PrivacyError::Erased(_))
    ));
    // A subject erased before anything was sealed stays erased.
    assert!(vault.erase("complaint/t3", 3).await.expect("erased"));
    assert!(vault.seal("complaint/t3", "late").await.is_err());
}

#[tokio::test]
async fn vault_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    vault_on(format!(
        "sqlite://{}/read.db?mode=rwc",
        dir.path().display()
    ))
    .await;
}

#[tokio::test]
async fn vault_on_postgres() {
    vault_on(aftercare_testkit::postgres().create_database().url).await;
}
