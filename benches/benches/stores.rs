//! Store benchmarks: what each backend adds to a request.
//!
//! Ids are `<op>/<backend>`, backend `memory`, `sqlite`, `sqlite+mirror`, `postgres` or
//! `redis`:
//!
//! - `authenticate/<backend>`: a `Bearer` header value to claims: verification (HS256) plus
//!   the revocation check of `jti` and `sid`, one store round trip.
//! - `refresh/<backend>`: one rotation: `consume` the refresh token, look the user up, insert
//!   the new token, sign a new access token. Each iteration spends the token the previous
//!   one returned.
//!
//! `sqlite` is a file in the temporary directory (WAL, `synchronous = FULL`, sqlx's default);
//! `sqlite+mirror` is the same database with revocations read from a `RevocationMirror`
//! (as the demo servers run on SQLite), so its `authenticate` does no query;
//! `postgres` (`DATABASE_URL`) and `redis` (`REDIS_URL`) are servers on loopback, each run
//! in a schema or key prefix of its own, removed at the end. `redis` keeps refresh tokens
//! and revocations in Redis and users in memory, as a deployment with users in SQL would
//! for `authenticate`; its `refresh` row leaves out the SQL user lookup. Backends whose
//! variable is unset are skipped. Every call runs inside one current-thread Tokio runtime
//! (`iter_custom` times a loop of awaits inside one `block_on`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_redis::RedisStore;
use auth_sqlx::{PostgresStore, SqliteStore, sqlx};
use authcore::store::RevocationMirror;
use authcore::store::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemoryUserStore};
use authcore::testing::{TEST_ISSUER, fast_hasher};
use authcore::time::OffsetDateTime;
use authcore::{
    Algorithm, Authenticator, Jwt, KeySet, RefreshTokenStore, RevocationStore, SigningKey,
    TokenPair, UserStore,
};
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const HMAC_SECRET: &[u8] = b"authcore-bench-hs256-secret-0123456789abcdef";
const PASSWORD: &str = "correct horse battery staple";

/// A name unique to this run.
fn unique(tag: &str) -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{tag}_{:016x}", h.finish())
}

/// What to remove after the run.
enum Cleanup {
    None,
    Dir(PathBuf),
    Schema(sqlx::PgPool, String),
    Redis(Arc<RedisStore>),
}

struct Backend {
    name: &'static str,
    auth: Authenticator,
    pair: TokenPair,
    cleanup: Cleanup,
}

impl Backend {
    async fn new(
        name: &'static str,
        users: Arc<dyn UserStore>,
        refresh_tokens: Arc<dyn RefreshTokenStore>,
        revocations: Arc<dyn RevocationStore>,
        cleanup: Cleanup,
    ) -> Backend {
        let key = SigningKey::hmac(Algorithm::HS256, HMAC_SECRET).expect("HS256 key");
        let jwt = Jwt::builder()
            .keys(KeySet::new(key))
            .issuer(TEST_ISSUER)
            .audience(TEST_ISSUER)
            .build()
            .expect("jwt");
        let auth = Authenticator::builder()
            .jwt(Arc::new(jwt))
            .users(users)
            .refresh_tokens(refresh_tokens)
            .revocations(revocations)
            .password_hasher(fast_hasher())
            // Whatever the run leaves behind expires within the hour.
            .refresh_ttl(authcore::time::Duration::hours(1))
            .build()
            .expect("authenticator");
        let email = format!("{}@example.com", unique("bench"));
        auth.register(&email, PASSWORD).await.expect("register");
        let pair = auth.login(&email, PASSWORD).await.expect("login");
        Backend {
            name,
            auth,
            pair,
            cleanup,
        }
    }
}

async fn backends() -> Vec<Backend> {
    let mut out = vec![
        Backend::new(
            "memory",
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemoryRefreshTokenStore::new()),
            Arc::new(MemoryRevocationStore::new()),
            Cleanup::None,
        )
        .await,
    ];

    let dir = std::env::temp_dir().join(unique("authcore_bench"));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let sqlite = SqliteStore::builder()
        .filename(dir.join("bench.db"))
        .connect()
        .await
        .expect("sqlite");
    sqlite.migrate().await.expect("sqlite migrate");
    let sqlite = Arc::new(sqlite);
    let mirror = RevocationMirror::load(sqlite.clone(), OffsetDateTime::now_utc())
        .await
        .expect("mirror");
    out.push(
        Backend::new(
            "sqlite+mirror",
            sqlite.clone(),
            sqlite.clone(),
            Arc::new(mirror),
            Cleanup::None,
        )
        .await,
    );
    out.push(
        Backend::new(
            "sqlite",
            sqlite.clone(),
            sqlite.clone(),
            sqlite,
            Cleanup::Dir(dir),
        )
        .await,
    );

    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = sqlx::PgPool::connect(&url).await.expect("postgres admin");
            let schema = unique("authcore_bench");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .expect("create schema");
            let pg = PostgresStore::builder()
                .url(&url)
                .schema(&schema)
                .connect()
                .await
                .expect("postgres");
            pg.migrate().await.expect("postgres migrate");
            let pg = Arc::new(pg);
            let cleanup = Cleanup::Schema(admin, schema);
            out.push(Backend::new("postgres", pg.clone(), pg.clone(), pg, cleanup).await);
        }
        _ => println!("skipped postgres: DATABASE_URL not set"),
    }

    match std::env::var("REDIS_URL") {
        Ok(url) => {
            let redis = RedisStore::builder()
                .url(&url)
                .prefix(&unique("authcore_bench"))
                .connect()
                .await
                .expect("redis");
            let redis = Arc::new(redis);
            let cleanup = Cleanup::Redis(redis.clone());
            let users = Arc::new(MemoryUserStore::new());
            out.push(Backend::new("redis", users, redis.clone(), redis, cleanup).await);
        }
        Err(_) => println!("skipped redis: REDIS_URL not set"),
    }
    out
}

async fn cleanup(backends: Vec<Backend>) {
    for backend in backends {
        match backend.cleanup {
            Cleanup::None => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema(admin, schema) => {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&admin)
                    .await;
            }
            Cleanup::Redis(store) => {
                let later = OffsetDateTime::now_utc() + authcore::time::Duration::days(1);
                let _ = store.purge_expired(later).await;
            }
        }
    }
}

fn configure<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

fn bench_stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backends = rt.block_on(backends());

    let mut group = c.benchmark_group("authenticate");
    configure(&mut group);
    for backend in &backends {
        let header = format!("Bearer {}", backend.pair.access_token);
        group.bench_function(backend.name, |b| {
            b.iter_custom(|iters| {
                timed(&rt, iters, || async {
                    backend
                        .auth
                        .authenticate(Some(black_box(header.as_bytes())))
                        .await
                        .expect("authenticates");
                })
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("refresh");
    configure(&mut group);
    for backend in &backends {
        let mut token = backend.pair.refresh_token.clone();
        group.bench_function(backend.name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        let pair = backend.auth.refresh(&token).await.expect("refreshes");
                        token = pair.refresh_token;
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();

    rt.block_on(cleanup(backends));
}

/// Runs `iters` calls one after the other inside one `block_on`; returns the time they took.
fn timed<F, Fut>(rt: &Runtime, iters: u64, mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    rt.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            call().await;
        }
        started.elapsed()
    })
}

criterion_group!(benches, bench_stores);
criterion_main!(benches);
