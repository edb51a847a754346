//! The bindings' Python log batch decoder (`export_logs`: pickle batch -> OTLP -> store) on
//! arbitrary bytes.
#![no_main]

mod common;

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use opentelemetry_parquet_ffi::{OtlpError, OtlpLibrary};

static STORE: Mutex<Option<common::Store<OtlpLibrary>>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    common::run(&STORE, |library| match library.export_logs(data) {
        Err(e @ (OtlpError::Io(_) | OtlpError::FlushFailed(_) | OtlpError::Timeout(_))) => {
            panic!("the library broke: {e}")
        }
        // Accepted, or refused as bad input (a typed error).
        _ => {}
    });
});
