//! Prints the median time of one password verification with the default argon2id
//! parameters (what `POST /token` spends per login) and the number of CPUs, for
//! `benches/http.sh` to compute the login throughput bound: CPUs ÷ one verification.
//!
//! `cargo run --release -p authcore-benches --bin hash-time`

use std::time::Instant;

use authcore::PasswordHasher;

fn main() -> Result<(), authcore::AuthError> {
    const RUNS: usize = 31;
    let hasher = PasswordHasher::default();
    let hash = hasher.hash("correct horse battery staple")?;
    let mut micros: Vec<u128> = (0..RUNS + 3)
        .map(|_| {
            let started = Instant::now();
            let verified = hasher.verify("correct horse battery staple", &hash);
            assert!(
                verified.is_ok_and(|v| v.is_match()),
                "the password verifies"
            );
            started.elapsed().as_micros()
        })
        .skip(3)
        .collect();
    micros.sort_unstable();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!("verify_us={} cpus={cpus}", micros[RUNS / 2]);
    Ok(())
}
