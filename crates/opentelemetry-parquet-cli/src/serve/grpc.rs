//! OTLP/gRPC: the collector's `TraceService`, `MetricsService` and `LogsService` (tonic), gzip
//! accepted.

use opentelemetry_parquet::proto::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_parquet::proto::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_parquet::proto::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_parquet::proto::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_parquet::proto::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_parquet::proto::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_parquet::OtlpLibrary;
use tonic::codec::CompressionEncoding;
use tonic::{Request as GrpcRequest, Response, Status};

use super::ingest::{store, Refusal, Request};

/// The three services, over one library.
#[derive(Clone)]
pub(crate) struct Grpc {
    pub(crate) library: OtlpLibrary,
}

fn status((refusal, message): (Refusal, String)) -> Status {
    match refusal {
        Refusal::BadRequest | Refusal::TooLarge => Status::invalid_argument(message),
        // Retryable: the client's exporter retries with backoff.
        Refusal::Unavailable => Status::unavailable(message),
        Refusal::Internal => Status::internal(message),
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        store(&self.library, Request::Traces(request.into_inner())).await.map_err(status)?;
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        store(&self.library, Request::Metrics(request.into_inner())).await.map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        store(&self.library, Request::Logs(request.into_inner())).await.map_err(status)?;
        Ok(Response::new(ExportLogsServiceResponse { partial_success: None }))
    }
}

/// tonic answers a message that does not decode (malformed protobuf, or nested past prost's
/// recursion limit) with `INTERNAL`; OTLP asks for `INVALID_ARGUMENT`, which tells the client
/// not to retry. The answer is trailers-only, so its status is in the response headers.
async fn malformed_is_invalid_argument(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    let internal = headers.get("grpc-status").is_some_and(|s| s == "13");
    let undecodable = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.starts_with("failed%20to%20decode") || m.starts_with("failed to decode"));
    if internal && undecodable {
        headers.insert("grpc-status", axum::http::HeaderValue::from_static("3"));
    }
    response
}

/// The router of the three services, each accepting messages up to `max_message_bytes`.
pub(crate) fn routes(grpc: Grpc, max_message_bytes: usize) -> tonic::service::Routes {
    let traces = TraceServiceServer::new(grpc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let metrics = MetricsServiceServer::new(grpc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let logs = LogsServiceServer::new(grpc)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let router = tonic::service::Routes::new(traces).add_service(metrics).add_service(logs).into_axum_router();
    router.layer(axum::middleware::map_response(malformed_is_invalid_argument)).into()
}
