//! The perlbal command language, free of I/O.
