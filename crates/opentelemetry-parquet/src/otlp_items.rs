//! The OTLP requests whose items are one row each, spans and log records: one trait, so that
//! preparing, appending and holding such a request (see `prepare::PreparedItems`,
//! `buffer::OtlpItemsExport`) is written once for both signals.

use crate::buffer::Buffer;
use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::collector::trace::v1::ExportTraceServiceRequest;
use crate::proto::common::v1::InstrumentationScope;
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::size::{self, Measured};
use crate::table::logs::record_time;
use crate::table::resource::{ResourceInfo, ScopeInfo};
use crate::table::Table;

/// An OTLP request of resources, their scopes, and the scopes' items, each item one row of
/// [`TABLE`](Self::TABLE).
pub(crate) trait ItemsRequest: Send + std::fmt::Debug + 'static {
    /// `ResourceSpans`, `ResourceLogs`.
    type Resources;
    /// `ScopeSpans`, `ScopeLogs`.
    type Scopes;
    /// `Span`, `LogRecord`.
    type Item;
    /// The message name errors give.
    const MESSAGE: &'static str;
    const TABLE: Table;

    fn resources(&self) -> &[Self::Resources];
    /// A resource group's resource and schema URL.
    fn resource(group: &Self::Resources) -> (Option<&Resource>, &str);
    fn scopes(group: &Self::Resources) -> &[Self::Scopes];
    /// A scope group's scope and schema URL.
    fn scope(group: &Self::Scopes) -> (Option<&InstrumentationScope>, &str);
    fn items(group: &Self::Scopes) -> &[Self::Item];
    /// The time that partitions the item's row.
    fn time(item: &Self::Item) -> u64;
    /// The bytes of the item's row, without its resource and scope (bounding its nesting).
    fn measure(item: &Self::Item) -> Measured;
    /// The memory the item takes while the request is held as it came.
    fn held(item: &Self::Item, measured: usize) -> usize;
    /// Appends the item's row.
    fn append(buffer: &mut Buffer, resource: &ResourceInfo, scope: &ScopeInfo, item: &Self::Item, bytes: usize);
}

impl ItemsRequest for ExportTraceServiceRequest {
    type Resources = ResourceSpans;
    type Scopes = ScopeSpans;
    type Item = Span;
    const MESSAGE: &'static str = "ExportTraceServiceRequest";
    const TABLE: Table = Table::Traces;

    fn resources(&self) -> &[ResourceSpans] {
        &self.resource_spans
    }
    fn resource(group: &ResourceSpans) -> (Option<&Resource>, &str) {
        (group.resource.as_ref(), &group.schema_url)
    }
    fn scopes(group: &ResourceSpans) -> &[ScopeSpans] {
        &group.scope_spans
    }
    fn scope(group: &ScopeSpans) -> (Option<&InstrumentationScope>, &str) {
        (group.scope.as_ref(), &group.schema_url)
    }
    fn items(group: &ScopeSpans) -> &[Span] {
        &group.spans
    }
    fn time(span: &Span) -> u64 {
        span.start_time_unix_nano
    }
    fn measure(span: &Span) -> Measured {
        size::otlp_span(span)
    }
    fn held(span: &Span, measured: usize) -> usize {
        size::otlp_span_held(span, measured)
    }
    fn append(buffer: &mut Buffer, resource: &ResourceInfo, scope: &ScopeInfo, span: &Span, bytes: usize) {
        buffer.traces(span.start_time_unix_nano, bytes).append_otlp(resource, scope, span);
    }
}

impl ItemsRequest for ExportLogsServiceRequest {
    type Resources = ResourceLogs;
    type Scopes = ScopeLogs;
    type Item = LogRecord;
    const MESSAGE: &'static str = "ExportLogsServiceRequest";
    const TABLE: Table = Table::Logs;

    fn resources(&self) -> &[ResourceLogs] {
        &self.resource_logs
    }
    fn resource(group: &ResourceLogs) -> (Option<&Resource>, &str) {
        (group.resource.as_ref(), &group.schema_url)
    }
    fn scopes(group: &ResourceLogs) -> &[ScopeLogs] {
        &group.scope_logs
    }
    fn scope(group: &ScopeLogs) -> (Option<&InstrumentationScope>, &str) {
        (group.scope.as_ref(), &group.schema_url)
    }
    fn items(group: &ScopeLogs) -> &[LogRecord] {
        &group.log_records
    }
    fn time(record: &LogRecord) -> u64 {
        record_time(record.time_unix_nano, record.observed_time_unix_nano)
    }
    fn measure(record: &LogRecord) -> Measured {
        size::otlp_log(record)
    }
    fn held(record: &LogRecord, measured: usize) -> usize {
        size::otlp_log_held(record, measured)
    }
    fn append(buffer: &mut Buffer, resource: &ResourceInfo, scope: &ScopeInfo, record: &LogRecord, bytes: usize) {
        buffer.logs(Self::time(record), bytes).append_otlp(resource, scope, record);
    }
}
