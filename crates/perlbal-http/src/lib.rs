//! Sans-IO HTTP/1 protocol code for perlbal (no sockets, no runtime).
