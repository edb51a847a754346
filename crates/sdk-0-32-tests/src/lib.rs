//! No code: this package compiles the core crate's SDK tests (`tests/sdk_*.rs`, concurrency,
//! edge cases, hostile input, the OTLP round trip) and its README examples against
//! OpenTelemetry SDK 0.32 alone, from the same sources as the 0.31 runs (see Cargo.toml). Run
//! them with `cargo test -p opentelemetry-parquet-sdk-0-32-tests` and
//! `cargo run -p opentelemetry-parquet-sdk-0-32-tests --example traces`.
