//! What both listeners share: the three signals, handing a decoded request to the library off
//! the async runtime, and how each library error maps to an OTLP answer.

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use std::sync::Arc;

use opentelemetry_parquet::{OtlpError, OtlpLibrary};
use prost::Message as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// Its size as protobuf.
    fn encoded_len(&self) -> usize {
        match self {
            Request::Traces(r) => r.encoded_len(),
            Request::Metrics(r) => r.encoded_len(),
            Request::Logs(r) => r.encoded_len(),
        }
    }

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

/// Where both listeners hand their requests: the library, and the budget of requests decoded
/// and waiting for it.
///
/// A request waits for buffer space (up to `export_timeout`) once decoded, so without a bound an
/// overload would hold any number of them in memory beside the buffer. The budget counts each
/// waiting request by its OTLP size (protobuf bytes; decoded it takes two to three times that)
/// and answers one that does not fit as a full buffer does: retry later.
#[derive(Clone)]
pub(crate) struct Ingest {
    library: OtlpLibrary,
    pending: Arc<Semaphore>,
    /// The budget, in KiB (the semaphore's permits).
    budget_kib: u32,
}

impl Ingest {
    pub(crate) fn new(library: OtlpLibrary, max_pending_bytes: usize) -> Ingest {
        let budget_kib = u32::try_from(max_pending_bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        Ingest { library, pending: Arc::new(Semaphore::new(budget_kib as usize)), budget_kib }
    }

    /// A share of the pending budget for `bytes`: a request larger than the whole budget takes
    /// all of it (so it waits alone rather than never). `None` when the budget is used up.
    pub(crate) fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.budget_kib);
        self.pending.clone().try_acquire_many_owned(kib).ok()
    }

    /// Stores a request: acknowledged (`Ok`, the rows accepted) only once it is in the
    /// library's buffer. The export may wait for buffer space (up to `export_timeout`), so it
    /// runs on a blocking thread, never on the runtime's.
    pub(crate) async fn store(&self, request: Request) -> Result<usize, (Refusal, String)> {
        let bytes = request.encoded_len();
        let Some(reserved) = self.reserve(bytes) else {
            let message = format!(
                "{} KiB of requests are already waiting for buffer space (the limit, --max-pending-bytes); \
                 retry later",
                self.budget_kib as usize - self.pending.available_permits()
            );
            return Err((Refusal::Unavailable, message));
        };
        let library = self.library.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let stored = match request {
                Request::Traces(r) => library.export_otlp_traces_owned(r),
                Request::Metrics(r) => library.export_otlp_metrics(&r),
                Request::Logs(r) => library.export_otlp_logs_owned(r),
            };
            drop(reserved);
            stored
        })
        .await;
        match stored {
            Ok(Ok(rows)) => Ok(rows),
            Ok(Err(e)) => Err((Refusal::of(&e), e.full_message())),
            Err(join) => Err((Refusal::Internal, format!("the export task failed: {join}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_parquet::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use opentelemetry_parquet::Config;

    use super::*;

    fn traces(spans: usize) -> Request {
        let spans = (0..spans)
            .map(|i| Span {
                trace_id: vec![1; 16],
                span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                name: "x".repeat(100),
                ..Default::default()
            })
            .collect();
        let scope_spans = vec![ScopeSpans { spans, ..Default::default() }];
        Request::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans { scope_spans, ..Default::default() }],
        })
    }

    #[tokio::test]
    async fn a_request_beyond_the_pending_budget_is_refused_as_retry_later_until_room_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
        let ingest = Ingest::new(library.clone(), 64 << 10);
        // Others' requests waiting for buffer space take 60 of the 64 KiB.
        let waiting = ingest.reserve(60 << 10).unwrap();
        let request = traces(100); // some 14 KiB as protobuf
        assert!(request.encoded_len() > 4 << 10, "{}", request.encoded_len());
        let (refusal, message) = ingest.store(request).await.unwrap_err();
        assert_eq!(refusal, Refusal::Unavailable);
        assert!(message.contains("60 KiB of requests are already waiting") && message.contains("--max-pending-bytes"));
        drop(waiting);
        assert_eq!(ingest.store(traces(100)).await.unwrap(), 100);
        assert_eq!(ingest.pending.available_permits(), 64, "the stored request gave its share back");
        // One larger than the whole budget waits alone instead of never.
        assert!(ingest.reserve(1 << 20).is_some());
        library.shutdown().unwrap();
    }
}
