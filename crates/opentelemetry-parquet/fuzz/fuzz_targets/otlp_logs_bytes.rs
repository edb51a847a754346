//! `OtlpLibrary::export_otlp_logs_bytes` on arbitrary bytes.
#![no_main]

mod common;

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use opentelemetry_parquet::{OtlpError, OtlpLibrary};

static STORE: Mutex<Option<common::Store<OtlpLibrary>>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    common::run(&STORE, |library| match library.export_otlp_logs_bytes(data) {
        // Accepted, or refused as bad input (malformed or too deep; too large).
        Ok(_) | Err(OtlpError::Decode { .. } | OtlpError::ExportTooLarge { .. }) => {}
        Err(e) => panic!("refused with an error that is not about the input: {}", e.full_message()),
    });
});
