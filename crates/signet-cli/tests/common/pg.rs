//! PostgreSQL for the end-to-end tests.
//!
//! With env `SIGNET_TEST_STORE=postgres` every test server runs on a fresh database of its own
//! (`signet_test_<random>`, created through the administrative URL before the server starts and
//! dropped when the server is dropped), passed as `SIGNET_DATABASE_URL` to `serve` and to every
//! CLI call. The multi-node and crash tests always use PostgreSQL and create their database with
//! [`PgDatabase::create`] themselves. The administrative URL is env `SIGNET_TEST_POSTGRES_URL`,
//! by default `postgres://postgres@127.0.0.1:5432/test` (trust authentication).

use std::future::Future;

use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::Server;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The administrative connection URL.
pub fn admin_url() -> String {
    std::env::var("SIGNET_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// True (with a note) when env SIGNET_SKIP_POSTGRES_TESTS=1: the multi-node and crash tests
/// then pass without running, for machines without PostgreSQL.
pub fn skipped() -> bool {
    if std::env::var("SIGNET_SKIP_POSTGRES_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("SIGNET_SKIP_POSTGRES_TESTS=1: PostgreSQL test skipped");
        return true;
    }
    false
}

/// The store the suite runs against: env SIGNET_TEST_STORE, "sqlite" by default. The test
/// command runs the end-to-end suite once more with "postgres".
pub fn store_backend() -> String {
    std::env::var("SIGNET_TEST_STORE").unwrap_or_else(|_| "sqlite".into())
}

/// Runs `f` to completion on a runtime of its own in a thread of its own: the harness is
/// synchronous and is called from inside the tests' tokio runtimes, which cannot be blocked on.
fn block_on<F>(f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("PostgreSQL helper thread")
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL tests need a server at {url} with trust authentication \
                 (scripts/test sets one up; SIGNET_TEST_POSTGRES_URL names another): {e}"
            )
        });
    tokio::spawn(connection);
    client
}

/// A fresh database, dropped (with every connection to it) on drop.
#[derive(Debug)]
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).expect("random");
        let name = format!("signet_test_{}", data_encoding::HEXLOWER.encode(&random));
        let admin = admin_url();
        let (admin2, name2) = (admin.clone(), name.clone());
        block_on(async move {
            connect(&admin2)
                .await
                .batch_execute(&format!("CREATE DATABASE \"{name2}\""))
                .await
                .expect("CREATE DATABASE");
        });
        let mut url = url::Url::parse(&admin).expect("SIGNET_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        PgDatabase {
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        block_on(async move {
            if let Ok((client, connection)) = tokio_postgres::connect(&admin, NoTls).await {
                tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
        });
    }
}

/// Runs SQL statements (simple query protocol) on the database at `url`.
pub fn exec(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    block_on(async move {
        connect(&url)
            .await
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// The rows of a query as text (NULL = `None`).
pub fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    block_on(async move {
        connect(&url)
            .await
            .simple_query(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}

impl Server {
    /// The PostgreSQL database this server uses, if it uses one.
    pub fn database_url(&self) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == "SIGNET_DATABASE_URL")
            .map(|(_, v)| v.clone())
    }

    /// Runs SQL statements on this server's database behind its back (tampering), on either
    /// backend: the SQLite file in its data directory, or its PostgreSQL database.
    pub fn db_exec(&self, sql: &str) {
        match self.database_url() {
            Some(url) => exec(&url, sql),
            None => rusqlite::Connection::open(self.data_dir().join("signet.db"))
                .expect("open signet.db")
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The first column of the first row of `sql` as text, on either backend.
    pub fn db_text(&self, sql: &str) -> Option<String> {
        match self.database_url() {
            Some(url) => query(&url, sql)
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next().flatten()),
            None => {
                use rusqlite::types::Value;
                let db = rusqlite::Connection::open_with_flags(
                    self.data_dir().join("signet.db"),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open signet.db");
                match db.query_row(sql, [], |r| r.get::<_, Value>(0)) {
                    Ok(Value::Null) | Err(rusqlite::Error::QueryReturnedNoRows) => None,
                    Ok(Value::Integer(i)) => Some(i.to_string()),
                    Ok(Value::Real(f)) => Some(f.to_string()),
                    Ok(Value::Text(t)) => Some(t),
                    Ok(Value::Blob(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
                    Err(e) => panic!("{sql}: {e}"),
                }
            }
        }
    }
}
