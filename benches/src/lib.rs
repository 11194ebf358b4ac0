//! Benchmarks live in benches/; see benches/check.rs.
