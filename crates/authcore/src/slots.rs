//! A direct-mapped table: a fixed number of slots, each behind its own lock, chosen by a
//! 64-bit hash of the key. The in-process caches (verified tokens, users) are built on it:
//! their memory is bounded by the slot count, a lookup locks one slot only, and a new
//! entry simply replaces whatever its slot held.

use std::sync::{Mutex, MutexGuard};

pub(crate) struct Slots<T> {
    slots: Box<[Mutex<T>]>,
    /// `64 - log2(slots)`: the index is the top bits of a multiplicative hash.
    shift: u32,
}

impl<T: Default> Slots<T> {
    /// A table of `slots` slots, rounded up to a power of two (at least one).
    pub(crate) fn new(slots: usize) -> Self {
        let slots = slots.max(1).next_power_of_two();
        Slots {
            slots: (0..slots).map(|_| Mutex::new(T::default())).collect(),
            shift: 64 - slots.trailing_zeros(),
        }
    }
}

impl<T> Slots<T> {
    /// The number of slots.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slot for `hash`, locked. A slot whose holder panicked is used as it is: every
    /// entry is written whole, under the lock.
    pub(crate) fn lock(&self, hash: u64) -> MutexGuard<'_, T> {
        self.slots[self.index(hash)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn index(&self, hash: u64) -> usize {
        // Fibonacci hashing: the top bits of the product mix all 64 input bits. The shift
        // of a one-slot table is 64, which `checked_shr` turns into index 0.
        let mixed = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        usize::try_from(mixed.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_and_indexes_within_bounds() {
        for (asked, len) in [(0, 1), (1, 1), (3, 4), (1000, 1024)] {
            let table = Slots::<u8>::new(asked);
            assert_eq!(table.len(), len);
            for hash in [0, 1, u64::MAX, 0x8000_0000_0000_0000, 12_345] {
                assert!(table.index(hash) < len);
            }
        }
    }

    #[test]
    fn sequential_hashes_spread() {
        let table = Slots::<u8>::new(64);
        let used: std::collections::HashSet<usize> = (0..64).map(|h| table.index(h)).collect();
        // Fibonacci hashing maps consecutive keys to distinct slots
        assert!(used.len() > 50, "{} slots used", used.len());
    }

    #[test]
    fn a_slot_survives_a_panicking_holder() {
        let table = std::sync::Arc::new(Slots::<u32>::new(1));
        let t = table.clone();
        let _ = std::thread::spawn(move || {
            *t.lock(7) = 5;
            panic!("holder panics");
        })
        .join();
        assert_eq!(*table.lock(7), 5);
    }
}
