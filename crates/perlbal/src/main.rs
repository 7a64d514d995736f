//! The `perlbal` binary.

// Declared so the disk layer builds and its tests run; the server wires them in.
#[allow(dead_code, unused_imports)]
mod static_files;
#[allow(dead_code)]
mod sys;

fn main() {}
