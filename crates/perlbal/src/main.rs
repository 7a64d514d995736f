//! The `perlbal` binary.
fn main() {}
