//! OTLP/HTTP (`/v1/traces`, `/v1/metrics`, `/v1/logs`): binary protobuf or JSON (the OTLP
//! specification's JSON mapping) request bodies, optionally gzip-compressed; answers in the
//! request's encoding, as the specification asks.

use std::io::Read as _;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use opentelemetry_parquet::proto::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_parquet::proto::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_parquet::proto::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;

use super::ingest::{Ingest, Refusal, Request, Signal, RETRY_AFTER_SECONDS};

/// `google.rpc.Status`, the body of an OTLP/HTTP error response.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub(crate) struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
    #[prost(string, tag = "2")]
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// The state every handler shares.
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) ingest: Ingest,
    /// The largest request body accepted, compressed or not (413 beyond it).
    pub(crate) max_body_bytes: usize,
}

pub(crate) fn router(http: Http) -> Router {
    let limit = http.max_body_bytes;
    Router::new()
        .route("/v1/{signal}", post(export))
        .route("/health", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(http)
}

/// An error response: the HTTP status and a `Status` body in the request's encoding.
fn refuse(status: StatusCode, encoding: Encoding, message: String) -> Response {
    // gRPC codes of the same meaning, for the Status message.
    let code = match status {
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::NOT_FOUND => 5,
        _ => 13,
    };
    let body = RpcStatus { code, message };
    let bytes = match encoding {
        Encoding::Protobuf => body.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&body).unwrap_or_default(),
    };
    let mut response = (status, [(header::CONTENT_TYPE, encoding.content_type())], bytes).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

fn encoding_of(headers: &HeaderMap) -> Option<Encoding> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
        "application/json" => Some(Encoding::Json),
        _ => None,
    }
}

/// The body (as it came, or gunzipped when `Content-Encoding: gzip`), never larger than `limit`.
fn body_of(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(body),
        "gzip" => {
            let mut out = Vec::new();
            let read = flate2::read::GzDecoder::new(&body[..]).take(limit as u64 + 1).read_to_end(&mut out);
            match read {
                Err(e) => Err((StatusCode::BAD_REQUEST, format!("the gzip body does not decompress: {e}"))),
                Ok(n) if n > limit => {
                    Err((StatusCode::PAYLOAD_TOO_LARGE, format!("the request decompresses to more than {limit} bytes")))
                }
                Ok(_) => Ok(Bytes::from(out)),
            }
        }
        other => {
            Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Content-Encoding {other:?} is not supported (gzip is)")))
        }
    }
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    bytes: &[u8],
    encoding: Encoding,
    name: &str,
) -> Result<T, String> {
    match encoding {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| format!("malformed {name}: {e}")),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| format!("malformed {name} (OTLP/JSON): {e}")),
    }
}

fn encode<T: Message + serde::Serialize>(response: &T, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(response).unwrap_or_default(),
    }
}

async fn export(State(http): State<Http>, Path(signal): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(encoding) = encoding_of(&headers) else {
        let found = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Encoding::Json,
            format!("Content-Type {found:?} is not supported: send application/x-protobuf or application/json"),
        );
    };
    let bytes = match body_of(&headers, body, http.max_body_bytes) {
        Ok(bytes) => bytes,
        Err((status, message)) => return refuse(status, encoding, message),
    };
    let request = match signal.as_str() {
        "traces" => {
            decode::<ExportTraceServiceRequest>(&bytes, encoding, "ExportTraceServiceRequest").map(Request::Traces)
        }
        "metrics" => {
            decode::<ExportMetricsServiceRequest>(&bytes, encoding, "ExportMetricsServiceRequest").map(Request::Metrics)
        }
        "logs" => decode::<ExportLogsServiceRequest>(&bytes, encoding, "ExportLogsServiceRequest").map(Request::Logs),
        other => {
            return refuse(
                StatusCode::NOT_FOUND,
                encoding,
                format!("no signal {other:?}: POST to /v1/traces, /v1/metrics or /v1/logs"),
            )
        }
    };
    let request = match request {
        Ok(r) => r,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, encoding, message),
    };
    let signal = request.signal();
    match http.ingest.store(request).await {
        Ok(_) => {
            // Every item was stored: no `partial_success` (a request is stored whole or refused whole).
            let body = match signal {
                Signal::Traces => encode(&ExportTraceServiceResponse { partial_success: None }, encoding),
                Signal::Metrics => encode(&ExportMetricsServiceResponse { partial_success: None }, encoding),
                Signal::Logs => encode(&ExportLogsServiceResponse { partial_success: None }, encoding),
            };
            (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
        }
        Err((refusal, message)) => {
            let status = match refusal {
                Refusal::BadRequest => StatusCode::BAD_REQUEST,
                Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            };
            refuse(status, encoding, message)
        }
    }
}
