//! The password hasher's threads: a queue of hashing jobs served by threads of their own,
//! at the lowest CPU priority, that keep one CPU free while other requests are served.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long after the last request served the hashing threads still keep a CPU free.
pub(crate) const RESERVATION_WINDOW: Duration = Duration::from_millis(250);

/// Whether the hashing threads keep one CPU free: while requests other than logins are
/// being served, and for [`RESERVATION_WINDOW`] after the last one.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    /// Set by every request served, cleared by the hashing threads when they look.
    pub(crate) requests: AtomicBool,
    /// Until when the threads keep a CPU free.
    until: Mutex<Option<Instant>>,
}

impl Reservation {
    /// Called on every request: a load, and a store only when the flag was clear, so
    /// that requests on many CPUs do not contend for the flag's cache line.
    pub(crate) fn note_request(&self) {
        if !self.requests.load(Ordering::Relaxed) {
            self.requests.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a hash starting at `now` keeps a CPU free.
    fn active(&self, now: Instant) -> bool {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if self.requests.swap(false, Ordering::Relaxed) {
            *until = now.checked_add(RESERVATION_WINDOW);
        }
        until.is_some_and(|until| now < until)
    }
}

/// The CPUs of a hashing thread: all the process may use, or all but the first of them
/// while a CPU is kept free. Linux only (per-thread affinity); elsewhere it does nothing.
struct Cpus {
    #[cfg(target_os = "linux")]
    all: rustix::thread::CpuSet,
    /// `None` with fewer than two CPUs: there is none to spare.
    #[cfg(target_os = "linux")]
    spare: Option<rustix::thread::CpuSet>,
    kept_free: bool,
}

impl Cpus {
    fn of_this_thread() -> Cpus {
        #[cfg(target_os = "linux")]
        {
            use rustix::thread::{CpuSet, sched_getaffinity};
            let all = sched_getaffinity(None).unwrap_or_default();
            let spare = (all.count() >= 2).then(|| {
                let mut spare = all;
                if let Some(first) = (0..CpuSet::MAX_CPU).find(|&cpu| all.is_set(cpu)) {
                    spare.unset(first);
                }
                spare
            });
            Cpus {
                all,
                spare,
                kept_free: false,
            }
        }
        #[cfg(not(target_os = "linux"))]
        Cpus { kept_free: false }
    }

    /// Moves this thread off the first CPU, or back onto all of them; best effort.
    fn keep_one_free(&mut self, free: bool) {
        if free == self.kept_free {
            return;
        }
        #[cfg(target_os = "linux")]
        if let Some(spare) = &self.spare {
            let cpus = if free { spare } else { &self.all };
            if rustix::thread::sched_setaffinity(None, cpus).is_ok() {
                self.kept_free = free;
            }
        }
    }
}

/// A hash or verification for the hashing threads.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// Starts `n` hashing threads on one queue. They end when the queue's sender is dropped
/// with the last clone of the hasher.
pub(crate) fn start_threads(
    n: usize,
    background: bool,
    reservation: Option<Arc<Reservation>>,
) -> Option<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let mut started = 0;
    for i in 0..n {
        let receiver = Arc::clone(&receiver);
        let reservation = reservation.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("authcore-argon2-{i}"))
            .spawn(move || {
                if background {
                    lower_priority();
                }
                let mut cpus = Cpus::of_this_thread();
                loop {
                    // The lock is held only while waiting (the guard ends with this
                    // statement): one thread waits for the next job, the others for the
                    // lock, and jobs run in parallel.
                    let job = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if let Some(reservation) = &reservation {
                        cpus.keep_one_free(reservation.active(Instant::now()));
                    }
                    // A panic is the job's failure (its caller sees the result channel
                    // closed), not the thread's.
                    drop(catch_unwind(AssertUnwindSafe(job)));
                }
            });
        if spawned.is_ok() {
            started += 1;
        }
    }
    (started > 0).then_some(sender)
}

/// Gives the calling thread the lowest CPU priority (nice 19), so that the threads
/// serving requests preempt it whenever they have work. Linux only (where the nice value
/// is per thread); best effort.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reservation_follows_requests() {
        let reservation = Reservation::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert!(!reservation.active(t0), "no request yet");
        reservation.note_request();
        assert!(reservation.active(t0));
        assert!(reservation.active(t0 + RESERVATION_WINDOW - ms(1)));
        assert!(!reservation.active(t0 + RESERVATION_WINDOW));
        // a request seen later counts from when the threads look
        reservation.note_request();
        let t1 = t0 + ms(1000);
        assert!(reservation.active(t1));
        assert!(
            reservation.active(t1 + ms(200)),
            "the window outlives the flag"
        );
        assert!(!reservation.active(t1 + RESERVATION_WINDOW));
    }
}
