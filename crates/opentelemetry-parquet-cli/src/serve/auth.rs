//! Optional bearer-token authentication of both listeners: a request without
//! `Authorization: Bearer <token>` is refused before it is read (HTTP 401 with a `Status` body,
//! gRPC `UNAUTHENTICATED`) and stores nothing. `/health` stays open.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prost::Message as _;

use super::http::RpcStatus;

/// The token a request must carry.
#[derive(Clone)]
pub(crate) struct Token(pub(crate) Arc<str>);

fn authorized(token: &Token, request: &Request) -> bool {
    let Some(value) = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, given)) = value.split_once(' ') else { return false };
    // Compared in full whatever the first difference, so the time taken says nothing of it.
    let expected = token.0.as_bytes();
    let given = given.trim().as_bytes();
    let same = given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    scheme.eq_ignore_ascii_case("bearer") && same
}

const REFUSED: &str = "missing or wrong bearer token (send Authorization: Bearer <token>)";

/// For the HTTP listener.
pub(crate) async fn http(State(token): State<Token>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/health" || authorized(&token, &request) {
        return next.run(request).await;
    }
    let body = RpcStatus { code: 16, message: REFUSED.to_owned() }.encode_to_vec();
    (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}

/// For the gRPC listener.
pub(crate) async fn grpc(State(token): State<Token>, request: Request, next: Next) -> Response {
    if authorized(&token, &request) {
        return next.run(request).await;
    }
    tonic::Status::unauthenticated(REFUSED).into_http::<axum::body::Body>()
}
