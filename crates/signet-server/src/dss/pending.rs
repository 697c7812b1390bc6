//! Responses of asynchronous requests (DSS-X asynchronous processing profile), in memory on
//! this node: bounded in number, kept for a limited time, handed out once, and only to the
//! user who asked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use signet_dssx::SignResponse;

/// How long a response (or a request still running) is kept.
pub const TTL: Duration = Duration::from_secs(600);
/// Most requests kept at once; beyond that new requests are processed synchronously.
pub const CAPACITY: usize = 1024;

enum Slot {
    Running,
    Done(Box<SignResponse>),
}

struct Entry {
    user_id: i64,
    created: Instant,
    slot: Slot,
}

/// What a PendingRequest finds.
pub enum Lookup {
    Running,
    Done(Box<SignResponse>),
    Unknown,
}

#[derive(Default)]
pub struct PendingStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PendingStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts
        // and removes), so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a running request; false when the store is full.
    pub fn start(&self, id: &str, user_id: i64) -> bool {
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, e| now.duration_since(e.created) < TTL);
        if map.len() >= CAPACITY {
            return false;
        }
        map.insert(
            id.to_owned(),
            Entry {
                user_id,
                created: now,
                slot: Slot::Running,
            },
        );
        true
    }

    /// Stores the final response of a running request.
    pub fn finish(&self, id: &str, response: SignResponse) {
        if let Some(e) = self.lock().get_mut(id) {
            e.slot = Slot::Done(Box::new(response));
        }
    }

    /// The state of `id` for `user_id`; a finished response is removed (delivered once).
    /// Another user's ID is as unknown as a made-up one.
    pub fn take(&self, id: &str, user_id: i64) -> Lookup {
        let mut map = self.lock();
        let fresh = map
            .get(id)
            .is_some_and(|e| e.user_id == user_id && e.created.elapsed() < TTL);
        if !fresh {
            return Lookup::Unknown;
        }
        match map.get(id).map(|e| &e.slot) {
            Some(Slot::Running) => Lookup::Running,
            Some(Slot::Done(_)) => match map.remove(id).map(|e| e.slot) {
                Some(Slot::Done(r)) => Lookup::Done(r),
                _ => Lookup::Unknown,
            },
            None => Lookup::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_dssx::DssResult;

    #[test]
    fn once_and_only_for_the_owner() {
        let store = PendingStore::default();
        assert!(store.start("a", 1));
        assert!(matches!(store.take("a", 1), Lookup::Running));
        assert!(matches!(store.take("a", 2), Lookup::Unknown));
        store.finish("a", SignResponse::new(DssResult::success(), None));
        assert!(matches!(store.take("a", 2), Lookup::Unknown));
        assert!(matches!(store.take("a", 1), Lookup::Done(_)));
        assert!(matches!(store.take("a", 1), Lookup::Unknown));
        assert!(matches!(store.take("b", 1), Lookup::Unknown));
    }
}
