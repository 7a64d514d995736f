//! Each reverse_proxy service's reproxy URL cache (REPROXY-13..15): where it lives and how the
//! proxy consults and fills it. The cache itself — keys, freshness, LRU, the replies to a hit —
//! is sans-IO, in [`perlbal_http::reproxy::cache`].
//!
//! A service's cache outlives configuration snapshots (like its backend pool) and is shared by
//! every worker thread behind one mutex, held only for a lookup or an insert. Its capacity
//! follows `reproxy_cache_maxsize` on every use, so a run-time `SET` takes effect at the next
//! request or `show service`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use perlbal_http::reproxy::cache::ReproxyCache;
use perlbal_http::reproxy::cache::{cache_key, cached_reply, CacheStats, CachedReply};
use perlbal_http::{RequestHead, ResponseHead};

use crate::registry::unix_now;

/// One service's reproxy cache.
#[derive(Debug, Default)]
pub struct ServiceCache(Mutex<ReproxyCache>);

/// The cache of `service`, created (empty, disabled) on first use.
pub fn service_cache(service: &Arc<str>) -> Arc<ServiceCache> {
    static CACHES: OnceLock<Mutex<HashMap<Arc<str>, Arc<ServiceCache>>>> = OnceLock::new();
    let mut caches = CACHES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Arc::clone(caches.entry(Arc::clone(service)).or_default())
}

impl ServiceCache {
    /// The cache, resized to `capacity` (`reproxy_cache_maxsize`) if that changed.
    fn sized(&self, capacity: usize) -> MutexGuard<'_, ReproxyCache> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.capacity() != capacity {
            cache.set_capacity(capacity);
        }
        cache
    }

    /// REPROXY-14: the answer to `req` from a fresh entry, if there is one. Counts the request
    /// (and the hit) for `show service`.
    pub fn lookup(&self, capacity: usize, req: &RequestHead) -> Option<CachedReply> {
        let mut key = Vec::with_capacity(128);
        cache_key(req, &mut key);
        let date = perlbal_http::date::now();
        let mut cache = self.sized(capacity);
        let entry = cache.lookup(&key, unix_now())?;
        Some(cached_reply(entry, req, date.as_str()))
    }

    /// REPROXY-13: remembers what the backend's head `primary` (carrying `X-REPROXY-URL`) asks
    /// to cache for `req`.
    pub fn remember(&self, capacity: usize, req: &RequestHead, primary: &ResponseHead) {
        if capacity == 0 {
            return;
        }
        let mut key = Vec::with_capacity(128);
        cache_key(req, &mut key);
        self.sized(capacity).remember(&key, primary, unix_now());
    }

    /// Sizes and counters for `show service` (OBS-27).
    pub fn stats(&self, capacity: usize) -> CacheStats {
        self.sized(capacity).stats()
    }
}
