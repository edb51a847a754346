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
use tonic::codec::CompressionEncoding;
use tonic::{Request as GrpcRequest, Response, Status};

use prost::Message as _;

use super::ingest::{Ingest, Refusal, Request, RETRY_AFTER_SECONDS};

/// The three services, over one library.
#[derive(Clone)]
pub(crate) struct Grpc {
    pub(crate) ingest: Ingest,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Duration {
    #[prost(int64, tag = "1")]
    pub(crate) seconds: i64,
    #[prost(int32, tag = "2")]
    pub(crate) nanos: i32,
}

/// `google.rpc.RetryInfo`: how long the client should wait before retrying.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub(crate) retry_delay: Option<Duration>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Any {
    #[prost(string, tag = "1")]
    pub(crate) type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) value: Vec<u8>,
}

/// `google.rpc.Status` with its details: what gRPC carries in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RpcStatusWithDetails {
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
    #[prost(string, tag = "2")]
    pub(crate) message: String,
    #[prost(message, repeated, tag = "3")]
    pub(crate) details: Vec<Any>,
}

fn status((refusal, message): (Refusal, String)) -> Status {
    match refusal {
        Refusal::BadRequest | Refusal::TooLarge => Status::invalid_argument(message),
        // Retryable, after the delay in the RetryInfo detail (the OTLP exporters honour it and
        // otherwise back off on their own).
        Refusal::Unavailable => {
            let delay = Duration { seconds: RETRY_AFTER_SECONDS as i64, nanos: 0 };
            let retry = RetryInfo { retry_delay: Some(delay) };
            let details = RpcStatusWithDetails {
                code: tonic::Code::Unavailable as i32,
                message: message.clone(),
                details: vec![Any {
                    type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                    value: retry.encode_to_vec(),
                }],
            };
            Status::with_details(tonic::Code::Unavailable, message, details.encode_to_vec().into())
        }
        Refusal::Internal => Status::internal(message),
    }
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.ingest.store(Request::Traces(request.into_inner())).await.map_err(status)?;
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.ingest.store(Request::Metrics(request.into_inner())).await.map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: GrpcRequest<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.ingest.store(Request::Logs(request.into_inner())).await.map_err(status)?;
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
