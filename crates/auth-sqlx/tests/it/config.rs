//! Builder validation and redacted `Debug` output; no database needed.

use std::time::Duration;

use auth_sqlx::{PostgresStore, SqliteStore};
use authcore::{ConfigError, StoreError};
use sqlx::postgres::PgPoolOptions;

fn is_config_error(err: &StoreError) -> bool {
    match err {
        StoreError::Backend(source) => source.downcast_ref::<ConfigError>().is_some(),
        _ => false,
    }
}

#[tokio::test]
async fn invalid_settings_are_config_errors() {
    let errors = [
        SqliteStore::builder().connect_lazy().unwrap_err(),
        SqliteStore::builder()
            .url("sqlite::memory:")
            .max_connections(0)
            .connect_lazy()
            .unwrap_err(),
        SqliteStore::builder()
            .url("sqlite::memory:")
            .query_timeout(Duration::ZERO)
            .connect_lazy()
            .unwrap_err(),
        SqliteStore::builder()
            .url("sqlite::memory:")
            .busy_timeout(Duration::ZERO)
            .connect_lazy()
            .unwrap_err(),
        SqliteStore::builder()
            .url("sqlite::memory:")
            .users_table("users; DROP TABLE x")
            .connect_lazy()
            .unwrap_err(),
        SqliteStore::builder()
            .url("mysql://nope")
            .connect_lazy()
            .unwrap_err(),
        PostgresStore::builder().connect_lazy().unwrap_err(),
        PostgresStore::builder()
            .url("not a url")
            .connect_lazy()
            .unwrap_err(),
        PostgresStore::builder()
            .url("postgres://localhost/db")
            .acquire_timeout(Duration::ZERO)
            .connect_lazy()
            .unwrap_err(),
        PostgresStore::builder()
            .url("postgres://localhost/db")
            .schema("a.b")
            .connect_lazy()
            .unwrap_err(),
        PostgresStore::builder()
            .url("postgres://localhost/db")
            .users_table("1x")
            .connect_lazy()
            .unwrap_err(),
        // the schema goes into the statements with a given pool too
        PostgresStore::builder()
            .pool(
                PgPoolOptions::new()
                    .connect_lazy("postgres://localhost/db")
                    .unwrap(),
            )
            .schema("auth; DROP TABLE x")
            .connect_lazy()
            .unwrap_err(),
    ];
    for (i, err) in errors.iter().enumerate() {
        assert!(is_config_error(err), "case {i}: {err:?}");
    }
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let url = "postgres://authcore:hunter2-secret@db.example.com:5433/app?sslmode=disable";
    let builder = PostgresStore::builder().url(url);
    let text = format!("{builder:?}");
    assert!(!text.contains("hunter2"), "{text}");
    let store = builder.connect_lazy().unwrap();
    let text = format!("{store:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("db.example.com") && text.contains("5433"),
        "{text}"
    );
}
