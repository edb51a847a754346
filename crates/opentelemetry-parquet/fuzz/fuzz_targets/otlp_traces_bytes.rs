//! `OtlpLibrary::export_otlp_traces_bytes` on arbitrary bytes.
#![no_main]

mod common;

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use opentelemetry_parquet::{OtlpError, OtlpLibrary};

static STORE: Mutex<Option<common::Store<OtlpLibrary>>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    common::run(&STORE, |library| match library.export_otlp_traces_bytes(data) {
        Ok(_) | Err(OtlpError::Decode { .. }) => {}
        // Refusals of the input itself (too large, too deep) are typed errors naming the input.
        Err(e @ (OtlpError::Io { .. } | OtlpError::FlushFailed { .. } | OtlpError::Timeout { .. })) => {
            panic!("the library broke: {}", e.full_message())
        }
        Err(_) => {}
    });
});
