//! What both listeners share: the three signals, handing a decoded request to the library off
//! the async runtime, and how each library error maps to an OTLP answer.

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::{OtlpError, OtlpLibrary};

/// A decoded OTLP export request of one of the three signals.
#[derive(Debug)]
pub(crate) enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// The signal of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Request {
    pub(crate) fn signal(&self) -> Signal {
        match self {
            Request::Traces(_) => Signal::Traces,
            Request::Metrics(_) => Signal::Metrics,
            Request::Logs(_) => Signal::Logs,
        }
    }
}

/// Why a request was not stored, as OTLP answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Malformed (or nested too deep): the client must not retry (HTTP 400, gRPC
    /// `INVALID_ARGUMENT`).
    BadRequest,
    /// Larger than the server will ever hold (HTTP 413, gRPC `INVALID_ARGUMENT`).
    TooLarge,
    /// The buffer is full or the server is stopping: retry later (HTTP 503 with `Retry-After`,
    /// gRPC `UNAVAILABLE`).
    Unavailable,
    /// The library failed (a writer error): HTTP 500, gRPC `INTERNAL`.
    Internal,
}

/// Seconds a client is asked to wait before retrying a refused request.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;

impl Refusal {
    pub(crate) fn of(error: &OtlpError) -> Refusal {
        match error {
            OtlpError::Decode { .. } => Refusal::BadRequest,
            OtlpError::ExportTooLarge { .. } => Refusal::TooLarge,
            OtlpError::BufferFull { .. } | OtlpError::AlreadyShutdown(_) | OtlpError::Timeout { .. } => {
                Refusal::Unavailable
            }
            _ => Refusal::Internal,
        }
    }
}

/// Stores a request: acknowledged (`Ok`, the rows accepted) only once it is in the library's
/// buffer. The export may wait for buffer space (up to `export_timeout`), so it runs on a
/// blocking thread, never on the runtime's.
pub(crate) async fn store(library: &OtlpLibrary, request: Request) -> Result<usize, (Refusal, String)> {
    let library = library.clone();
    let stored = tokio::task::spawn_blocking(move || match request {
        Request::Traces(r) => library.export_otlp_traces_owned(r),
        Request::Metrics(r) => library.export_otlp_metrics(&r),
        Request::Logs(r) => library.export_otlp_logs_owned(r),
    })
    .await;
    match stored {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(e)) => Err((Refusal::of(&e), e.full_message())),
        Err(join) => Err((Refusal::Internal, format!("the export task failed: {join}"))),
    }
}
