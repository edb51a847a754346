//! SDK objects to rows, and the SDK's exporter traits: written once, compiled once per enabled
//! SDK version (see [`crate::sdk`]), with `otel` and `otel_sdk` bound to that version's crates.

use super::{otel, otel_sdk, VERSION};

mod exporters;
mod logs;
mod metrics;
mod spans;
mod values;

pub(crate) use spans::export_spans;
pub(crate) use values::{default_resource, resource_info};
