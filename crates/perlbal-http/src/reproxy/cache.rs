//! The reproxy URL cache (REPROXY-13..15, OBS-27): a per-service LRU that remembers, for a
//! `<Host>|<request URI>` key, which URLs a backend reproxied to and a few of its headers, so
//! that repeats are answered without asking a backend.
//!
//! Life of an entry:
//! 1. before asking a backend, the caller forms the key with [`cache_key`] and calls
//!    [`ReproxyCache::lookup`] (only when the cache is enabled and the request is not being
//!    buffered, as in the original); a fresh entry is a hit, answered by [`cached_reply`]: a 304,
//!    or a synthetic primary head followed by the URL fetch of [`super::url`];
//! 2. when a backend answers with `X-REPROXY-URL` and `X-REPROXY-CACHE-FOR`, the caller passes
//!    that head to [`ReproxyCache::remember`], keyed by the request that was sent to it.
//!
//! The cache never reads a clock: callers pass "now" as Unix seconds. An entry stays fresh up to
//! and including its expiry second, as in the original (`time() > $timeout` is stale). Expired
//! entries are kept until evicted or replaced, and a lookup still makes them most recent, like
//! the original's LRU; they just never hit.
//!
//! ⚠ REPROXY-15: a `X-REPROXY-CACHE-FOR` without a positive number of seconds makes the original
//! store an entry that can never hit (taking a slot and replacing any good entry). Here nothing
//! is stored and an existing entry for the key is dropped, which answers every later request the
//! same way.
//!
//! The cached headers are replayed in the order they were listed, with the spelling of the list;
//! the original replays them in Perl hash order, which differs from process to process.

use std::collections::HashMap;

use super::perl_true;
use super::url::{parse_url_list, ReproxyTarget};
use crate::conditional::not_modified;
use crate::head::leading_digits;
use crate::headers::is_perl_space;
use crate::{RequestHead, ResponseHead};

/// At most this many header names of one `X-REPROXY-CACHE-FOR` are remembered.
pub const MAX_CACHED_HEADERS: usize = 32;

/// A parsed `X-REPROXY-CACHE-FOR: <seconds>[; <Header> <Header> …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFor {
    /// How long the entry stays fresh (always at least 1).
    pub seconds: u64,
    /// The primary's headers to replay on a hit, as listed (duplicates, ignoring case, dropped).
    pub headers: Vec<String>,
}

/// Parses an `X-REPROXY-CACHE-FOR` value. `None` when it gives no positive number of seconds
/// (`0`, empty, `abc`, `-5`): nothing is to be cached (⚠ REPROXY-15, see the module docs).
///
/// The seconds are read like a Perl number's integer part (`5abc` is 5, `1.5` is 1); names are
/// separated by whitespace, and at most [`MAX_CACHED_HEADERS`] are kept.
pub fn parse_cache_for(value: &[u8]) -> Option<CacheFor> {
    let (delta, names) = match memchr::memchr(b';', value) {
        Some(at) => (&value[..at], &value[at + 1..]),
        None => (value, &b""[..]),
    };
    let start = delta
        .iter()
        .position(|&b| !is_perl_space(b))
        .unwrap_or(delta.len());
    let digits = delta[start..].strip_prefix(b"+").unwrap_or(&delta[start..]);
    let seconds = leading_digits(digits).map(|(n, _)| n).filter(|&n| n > 0)?;
    let mut headers: Vec<String> = Vec::new();
    for name in names.split(|&b| is_perl_space(b)) {
        if headers.len() == MAX_CACHED_HEADERS {
            break;
        }
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if !perl_true(name.as_bytes()) || headers.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        headers.push(name.to_owned());
    }
    Some(CacheFor { seconds, headers })
}

/// Sets `out` to the cache key of `req`: `<Host>|<request URI>`, each part empty when absent or
/// Perl-false (`"0"`), as the original forms it. Reuse `out` across requests.
pub fn cache_key(req: &RequestHead, out: &mut Vec<u8>) {
    out.clear();
    if let Some(host) = req.headers().get("Host").filter(|v| perl_true(v)) {
        out.extend_from_slice(host);
    }
    out.push(b'|');
    if perl_true(req.uri()) {
        out.extend_from_slice(req.uri());
    }
}

/// What the cache remembers about one reproxied request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedReproxy {
    expires: u64,
    urls: Box<[u8]>,
    headers: Vec<(Box<str>, Box<[u8]>)>,
}

impl CachedReproxy {
    /// An entry for a backend head `primary` carrying `urls` (its `X-REPROXY-URL`) and
    /// `cache_for`, received at `now`. Listed headers that `primary` lacks, or whose value is
    /// Perl-false, are skipped.
    pub fn new(cache_for: &CacheFor, urls: &[u8], primary: &ResponseHead, now: u64) -> Self {
        let headers = cache_for
            .headers
            .iter()
            .filter_map(|name| {
                let value = primary.headers().get(name).filter(|v| perl_true(v))?;
                Some((Box::from(name.as_str()), Box::from(value)))
            })
            .collect();
        CachedReproxy {
            expires: now.saturating_add(cache_for.seconds),
            urls: urls.into(),
            headers,
        }
    }

    /// The last second (Unix time) at which the entry is fresh.
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// Whether the entry may answer a request at `now`.
    pub fn is_fresh(&self, now: u64) -> bool {
        now <= self.expires
    }

    /// The raw `X-REPROXY-URL` value (parse with [`parse_url_list`]).
    pub fn urls(&self) -> &[u8] {
        &self.urls
    }

    /// The remembered headers, in the listed order and spelling.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    }

    fn last_modified(&self) -> Option<&[u8]> {
        self.headers()
            .find(|(name, _)| name.eq_ignore_ascii_case("Last-Modified"))
            .map(|(_, value)| value)
    }
}

/// How to answer a cache hit (REPROXY-14).
#[derive(Debug)]
pub enum CachedReply {
    /// Send this `304` head (`Content-Length: 0`) after the keep-alive decision; no body.
    NotModified(ResponseHead),
    /// Fetch `targets` as for `X-REPROXY-URL` (REPROXY-5..7) with `primary` as the backend's
    /// head; no target left (or none at all) → a 503 page.
    Fetch {
        primary: ResponseHead,
        targets: Vec<ReproxyTarget>,
    },
}

/// The answer to `client_req` from a fresh `entry` (REPROXY-14). `now_date` is the current HTTP
/// date (see [`crate::date`]).
///
/// A `304` when `If-Modified-Since` equals the remembered `Last-Modified` (first `; length=N`
/// removed); otherwise a synthetic `200` head: `Date`, then the remembered headers.
///
/// ⚠ Without a remembered `Last-Modified` there is never a 304; the original compares with an
/// empty string, so `If-Modified-Since: ; length=1` got one.
pub fn cached_reply(
    entry: &CachedReproxy,
    client_req: &RequestHead,
    now_date: &str,
) -> CachedReply {
    let ims = client_req.headers().get("If-Modified-Since");
    let last_modified = entry
        .last_modified()
        .and_then(|value| std::str::from_utf8(value).ok());
    if last_modified.is_some_and(|lm| not_modified(ims, lm, None)) {
        let mut head = ResponseHead::new(304);
        head.headers_mut().set("Content-Length", "0");
        return CachedReply::NotModified(head);
    }
    let mut primary = ResponseHead::new(200);
    let headers = primary.headers_mut();
    headers.set("Date", now_date);
    for (name, value) in entry.headers() {
        headers.set(name, value);
    }
    CachedReply::Fetch {
        primary,
        targets: parse_url_list(entry.urls()),
    }
}

/// Counters and sizes for `show service` (OBS-27, REPROXY-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries held, expired ones included.
    pub size: usize,
    /// `reproxy_cache_maxsize`.
    pub capacity: usize,
    /// Lookups answered from the cache (304s included).
    pub hits: u64,
    /// Lookups made while the cache was enabled.
    pub requests: u64,
}

impl CacheStats {
    /// The three `show service` lines, without line endings:
    /// `    cache size: 1/10 (10.00%)`, `    cache hits: 2`, `cache hit rate: 66.67%`.
    pub fn show_service_lines(&self) -> [String; 3] {
        let size_percent = if self.capacity == 0 {
            "undef".to_owned()
        } else {
            format!("{:.2}%", self.size as f64 / self.capacity as f64 * 100.0)
        };
        let hit_rate = if self.requests == 0 {
            0.0
        } else {
            self.hits as f64 / self.requests as f64 * 100.0
        };
        [
            format!(
                "    cache size: {}/{} ({size_percent})",
                self.size, self.capacity
            ),
            format!("    cache hits: {}", self.hits),
            format!("cache hit rate: {hit_rate:.2}%"),
        ]
    }
}

/// "No node" in the LRU links.
const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Node {
    key: Box<[u8]>,
    entry: CachedReproxy,
    /// The next more recently used node, or `NIL`.
    newer: usize,
    /// The next less recently used node, or `NIL`.
    older: usize,
}

/// A least-recently-used cache of [`CachedReproxy`] entries, bounded by count
/// (`reproxy_cache_maxsize`; 0 disables it).
///
/// Nodes live densely in a vector, linked newest ↔ oldest by index, with a hash index from key
/// to node: lookups, inserts and evictions are O(1) and a lookup allocates nothing. The
/// hit/request counters survive disabling and re-enabling, as the original's service counters
/// do.
#[derive(Debug)]
pub struct ReproxyCache {
    capacity: usize,
    index: HashMap<Box<[u8]>, usize>,
    nodes: Vec<Node>,
    newest: usize,
    oldest: usize,
    hits: u64,
    requests: u64,
}

impl Default for ReproxyCache {
    fn default() -> Self {
        ReproxyCache::new(0)
    }
}

impl ReproxyCache {
    /// A cache holding at most `capacity` entries (0: disabled).
    pub fn new(capacity: usize) -> Self {
        ReproxyCache {
            capacity,
            index: HashMap::new(),
            nodes: Vec::new(),
            newest: NIL,
            oldest: NIL,
            hits: 0,
            requests: 0,
        }
    }

    /// The maximum number of entries (0: disabled).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the cache is in use (`reproxy_cache_maxsize` > 0).
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Entries held, expired ones included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Changes the capacity at run time: shrinking evicts the least recently used entries; 0
    /// empties and disables the cache (the counters are kept).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.nodes.len() > capacity {
            self.remove_at(self.oldest);
        }
        if capacity == 0 {
            self.index = HashMap::new();
            self.nodes = Vec::new();
        }
    }

    /// Looks `key` up for a request at `now`, counting the request and, when the entry is
    /// fresh, the hit. A found entry becomes the most recently used, fresh or not. Nothing is
    /// counted while the cache is disabled.
    pub fn lookup(&mut self, key: &[u8], now: u64) -> Option<&CachedReproxy> {
        if !self.is_enabled() {
            return None;
        }
        self.requests += 1;
        let at = *self.index.get(key)?;
        self.make_newest(at);
        let entry = &self.nodes[at].entry;
        if !entry.is_fresh(now) {
            return None;
        }
        self.hits += 1;
        Some(entry)
    }

    /// Stores `entry` under `key` as the most recently used, replacing an entry with the same
    /// key or else evicting the least recently used ones to make room. Ignored when disabled.
    pub fn insert(&mut self, key: &[u8], entry: CachedReproxy) {
        if !self.is_enabled() {
            return;
        }
        if let Some(&at) = self.index.get(key) {
            self.nodes[at].entry = entry;
            self.make_newest(at);
            return;
        }
        while self.nodes.len() >= self.capacity {
            self.remove_at(self.oldest);
        }
        let at = self.nodes.len();
        self.nodes.push(Node {
            key: key.into(),
            entry,
            newer: NIL,
            older: NIL,
        });
        self.index.insert(key.into(), at);
        self.link_newest(at);
    }

    /// Records what a backend head `primary` asks to cache (REPROXY-13), for the request whose
    /// key is `key` (formed with [`cache_key`] from the request as sent to the backend), at
    /// `now`. Call it only when `X-REPROXY-URL` is acted on. Needs a Perl-true
    /// `X-REPROXY-CACHE-FOR` and `X-REPROXY-URL`; returns whether an entry was stored. A
    /// `X-REPROXY-CACHE-FOR` without positive seconds drops the key's entry (⚠ REPROXY-15).
    pub fn remember(&mut self, key: &[u8], primary: &ResponseHead, now: u64) -> bool {
        if !self.is_enabled() {
            return false;
        }
        let headers = primary.headers();
        let cache_for = headers.get("X-REPROXY-CACHE-FOR").filter(|v| perl_true(v));
        let urls = headers.get("X-REPROXY-URL").filter(|v| perl_true(v));
        let (Some(cache_for), Some(urls)) = (cache_for, urls) else {
            return false;
        };
        match parse_cache_for(cache_for) {
            Some(cache_for) => {
                self.insert(key, CachedReproxy::new(&cache_for, urls, primary, now));
                true
            }
            None => {
                self.remove(key);
                false
            }
        }
    }

    /// Drops the entry for `key`; returns whether there was one.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.index.get(key) {
            Some(&at) => {
                self.remove_at(at);
                true
            }
            None => false,
        }
    }

    /// Sizes and counters for `show service`.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            size: self.len(),
            capacity: self.capacity,
            hits: self.hits,
            requests: self.requests,
        }
    }

    /// Detaches node `at` from the recency list.
    fn unlink(&mut self, at: usize) {
        let Node { newer, older, .. } = self.nodes[at];
        match newer {
            NIL => self.newest = older,
            newer => self.nodes[newer].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            older => self.nodes[older].newer = newer,
        }
    }

    /// Attaches the detached node `at` as the most recently used.
    fn link_newest(&mut self, at: usize) {
        self.nodes[at].newer = NIL;
        self.nodes[at].older = self.newest;
        match self.newest {
            NIL => self.oldest = at,
            newest => self.nodes[newest].newer = at,
        }
        self.newest = at;
    }

    fn make_newest(&mut self, at: usize) {
        if self.newest != at {
            self.unlink(at);
            self.link_newest(at);
        }
    }

    /// Removes node `at`, moving the last node into its slot to keep the vector dense.
    fn remove_at(&mut self, at: usize) {
        if at >= self.nodes.len() {
            debug_assert!(false, "LRU link to a missing node");
            return;
        }
        self.unlink(at);
        self.index.remove(&self.nodes[at].key);
        self.nodes.swap_remove(at);
        if at == self.nodes.len() {
            return;
        }
        let Node { newer, older, .. } = self.nodes[at];
        match newer {
            NIL => self.newest = at,
            newer => self.nodes[newer].older = at,
        }
        match older {
            NIL => self.oldest = at,
            older => self.nodes[older].newer = at,
        }
        if let Some(slot) = self.index.get_mut(&self.nodes[at].key) {
            *slot = at;
        }
    }
}

#[cfg(test)]
mod tests;
