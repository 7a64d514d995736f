//! Shared end-to-end and differential test harness: starts real `perlbal` binaries (ours or the
//! Perl reference) on real config files, builds docroot fixtures, runs test backends (a scriptable
//! one of ours and a real nginx) behind reverse proxies, and talks to the servers over real
//! loopback TCP sockets with raw bytes. Every read is bounded so no test can hang.
//!
//! Binary under test: our `perlbal` (`CARGO_BIN_EXE_perlbal`), or whatever `PERLBAL_TEST_BIN`
//! names. `PERLBAL_TEST_BIN=/usr/bin/perlbal cargo test -p perlbal` runs the whole suite against
//! the reference; assertions of deliberate divergences are then skipped through
//! [`expect_divergence`].
#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod checksum;
pub mod configs;
pub mod diff;
pub mod docroot;
pub mod http;
pub mod mgmt;
pub mod nginx;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod reproxy;
pub mod tempdir;
pub mod text;

pub use diff::{Outcome, Pair};
pub use docroot::Docroot;
pub use http::{Client, Response};
pub use mgmt::Mgmt;
pub use ports::free_port;
pub use process::{
    expect_divergence, is_reference, run_perlbal, under_test_bin, Kind, Perlbal, RunOutput,
    REFERENCE_BIN,
};
pub use tempdir::TempDir;
pub use text::{crlf, shape};
