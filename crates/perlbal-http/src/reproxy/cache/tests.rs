use super::super::test_heads::{encoded, request, response};
use super::*;

fn entry(seconds: u64, now: u64) -> CachedReproxy {
    let cache_for = CacheFor {
        seconds,
        headers: vec![],
    };
    CachedReproxy::new(
        &cache_for,
        b"http://127.0.0.1:1/x",
        &response("HTTP/1.0 200 OK\r\n\r\n"),
        now,
    )
}

const PRIMARY: &str = "HTTP/1.0 200 OK\r\n\
    Content-Type: text/x-primary\r\n\
    X-Primary: yes\r\n\
    Set-Cookie: a=b\r\n\
    Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT\r\n\
    X-REPROXY-URL: http://127.0.0.1:18084/f1 http://127.0.0.1:18085/f2\r\n\
    X-REPROXY-CACHE-FOR: 30; Content-Type X-Primary Last-Modified\r\n\r\n";

#[test]
fn reproxy_13_parses_seconds_and_header_names() {
    assert_eq!(
        parse_cache_for(b"30; Content-Type X-Primary"),
        Some(CacheFor {
            seconds: 30,
            headers: vec!["Content-Type".into(), "X-Primary".into()],
        })
    );
    assert_eq!(
        parse_cache_for(b" 5abc"),
        Some(CacheFor {
            seconds: 5,
            headers: vec![]
        })
    );
    assert_eq!(
        parse_cache_for(b"1.5;a A\tb").map(|c| (c.seconds, c.headers)),
        Some((1, vec!["a".into(), "b".into()]))
    );
}

#[test]
fn reproxy_15_no_positive_seconds_caches_nothing() {
    for value in [&b"0"[..], b"", b"abc", b"-5", b"; Content-Type"] {
        assert_eq!(parse_cache_for(value), None, "{value:?}");
    }
}

#[test]
fn header_list_is_bounded() {
    let names: Vec<String> = (0..100).map(|i| format!("H{i}")).collect();
    let value = format!("10; {}", names.join(" "));
    let parsed = parse_cache_for(value.as_bytes()).expect("seconds");
    assert_eq!(parsed.headers.len(), MAX_CACHED_HEADERS);
}

#[test]
fn reproxy_13_key_is_host_and_uri() {
    let mut key = Vec::new();
    cache_key(
        &request("GET /a?b HTTP/1.0\r\nHost: example.com\r\n\r\n"),
        &mut key,
    );
    assert_eq!(key, b"example.com|/a?b");
    cache_key(&request("GET /a HTTP/1.0\r\n\r\n"), &mut key);
    assert_eq!(key, b"|/a");
}

#[test]
fn reproxy_13_remember_stores_listed_headers_in_order() {
    let mut cache = ReproxyCache::new(10);
    assert!(cache.remember(b"h|/a", &response(PRIMARY), 1000));
    let hit = cache.lookup(b"h|/a", 1010).expect("fresh");
    let headers: Vec<_> = hit.headers().collect();
    assert_eq!(
        headers,
        [
            ("Content-Type", &b"text/x-primary"[..]),
            ("X-Primary", b"yes"),
            ("Last-Modified", b"Thu, 02 Jan 2020 03:04:05 GMT"),
        ]
    );
    assert_eq!(hit.expires(), 1030);
    assert_eq!(
        hit.urls(),
        b"http://127.0.0.1:18084/f1 http://127.0.0.1:18085/f2"
    );
}

#[test]
fn remember_needs_both_headers_and_an_enabled_cache() {
    let mut disabled = ReproxyCache::new(0);
    assert!(!disabled.remember(b"k", &response(PRIMARY), 0));
    assert!(disabled.is_empty());

    let mut cache = ReproxyCache::new(4);
    let no_urls = response("HTTP/1.0 200 OK\r\nX-REPROXY-CACHE-FOR: 30\r\n\r\n");
    assert!(!cache.remember(b"k", &no_urls, 0));
    assert!(cache.is_empty());
}

#[test]
fn reproxy_15_zero_seconds_drops_an_existing_entry() {
    let mut cache = ReproxyCache::new(4);
    assert!(cache.remember(b"k", &response(PRIMARY), 0));
    let zero =
        response("HTTP/1.0 200 OK\r\nX-REPROXY-URL: http://h/\r\nX-REPROXY-CACHE-FOR: abc\r\n\r\n");
    assert!(!cache.remember(b"k", &zero, 1));
    assert!(cache.is_empty());
}

#[test]
fn reproxy_14_entries_are_fresh_through_their_expiry_second() {
    let mut cache = ReproxyCache::new(4);
    cache.insert(b"k", entry(30, 100));
    assert!(cache.lookup(b"k", 130).is_some());
    assert!(cache.lookup(b"k", 131).is_none());
    assert!(cache.lookup(b"missing", 100).is_none());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.requests, stats.size), (1, 3, 1));
}

#[test]
fn lru_evicts_the_least_recently_used() {
    let mut cache = ReproxyCache::new(2);
    cache.insert(b"a", entry(10, 0));
    cache.insert(b"b", entry(10, 0));
    assert!(cache.lookup(b"a", 0).is_some(), "a becomes newest");
    cache.insert(b"c", entry(10, 0));
    assert!(cache.lookup(b"b", 0).is_none(), "b was oldest");
    assert!(cache.lookup(b"a", 0).is_some());
    assert!(cache.lookup(b"c", 0).is_some());
    assert_eq!(cache.len(), 2);
}

#[test]
fn lru_survives_many_inserts_removals_and_replacements() {
    let mut cache = ReproxyCache::new(8);
    for round in 0..200u64 {
        let key = format!("k{}", round % 13);
        cache.insert(key.as_bytes(), entry(10, round));
        if round % 5 == 0 {
            cache.remove(format!("k{}", (round + 3) % 13).as_bytes());
        }
        assert!(cache.len() <= 8);
        assert!(
            cache.lookup(key.as_bytes(), round).is_some(),
            "round {round}"
        );
    }
    // The index and the links agree: every held key is found, and eviction drains them all.
    cache.set_capacity(3);
    assert_eq!(cache.len(), 3);
    cache.set_capacity(0);
    assert!(cache.is_empty());
    assert!(!cache.is_enabled());
}

#[test]
fn shrinking_keeps_the_most_recent() {
    let mut cache = ReproxyCache::new(4);
    for key in [b"a", b"b", b"c", b"d"] {
        cache.insert(key, entry(10, 0));
    }
    cache.set_capacity(2);
    assert!(cache.lookup(b"c", 0).is_some());
    assert!(cache.lookup(b"d", 0).is_some());
    assert!(cache.lookup(b"a", 0).is_none());
}

#[test]
fn reproxy_14_hit_builds_a_synthetic_primary() {
    let mut cache = ReproxyCache::new(4);
    cache.remember(b"k", &response(PRIMARY), 0);
    let hit = cache.lookup(b"k", 0).expect("fresh").clone();
    let req = request("GET /a HTTP/1.0\r\nHost: h\r\n\r\n");
    match cached_reply(&hit, &req, "Wed, 25 Nov 2026 13:53:44 GMT") {
        CachedReply::Fetch { primary, targets } => {
            assert_eq!(
                encoded(&primary),
                "HTTP/1.0 200 OK\r\n\
                 Date: Wed, 25 Nov 2026 13:53:44 GMT\r\n\
                 Content-Type: text/x-primary\r\n\
                 X-Primary: yes\r\n\
                 Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT\r\n\r\n"
            );
            assert_eq!(targets.len(), 2);
            assert_eq!(targets[1].port, 18085);
        }
        other => panic!("expected a fetch, got {other:?}"),
    }
}

#[test]
fn reproxy_14_matching_if_modified_since_is_a_304() {
    let mut cache = ReproxyCache::new(4);
    cache.remember(b"k", &response(PRIMARY), 0);
    let hit = cache.lookup(b"k", 0).expect("fresh").clone();
    let req = request(
        "GET /a HTTP/1.0\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT; length=60\r\n\r\n",
    );
    match cached_reply(&hit, &req, "d") {
        CachedReply::NotModified(head) => {
            assert_eq!(head.status(), 304);
            assert_eq!(head.headers().get("Content-Length"), Some(&b"0"[..]));
        }
        other => panic!("expected a 304, got {other:?}"),
    }
}

#[test]
fn without_a_remembered_last_modified_there_is_no_304() {
    let cache_for = parse_cache_for(b"10; Content-Type").expect("seconds");
    let hit = CachedReproxy::new(&cache_for, b"http://h/", &response(PRIMARY), 0);
    let req = request("GET /a HTTP/1.0\r\nIf-Modified-Since: ; length=1\r\n\r\n");
    assert!(matches!(
        cached_reply(&hit, &req, "d"),
        CachedReply::Fetch { .. }
    ));
}

#[test]
fn obs_27_show_service_lines() {
    let stats = CacheStats {
        size: 1,
        capacity: 10,
        hits: 2,
        requests: 3,
    };
    assert_eq!(
        stats.show_service_lines(),
        [
            "    cache size: 1/10 (10.00%)".to_owned(),
            "    cache hits: 2".to_owned(),
            "cache hit rate: 66.67%".to_owned(),
        ]
    );
}
