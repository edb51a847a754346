//! `serve --tls-cert --tls-key`: both listeners speak TLS only; a client that trusts the CA
//! stores its data over gRPC and HTTP, one that does not (or speaks plain HTTP) is turned away
//! without hurting the others, and a certificate or key that does not load fails the start
//! naming the file.

use opentelemetry_parquet::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_parquet::{Config, OtlpLibrary};
use prost::Message as _;

use super::Server;
use crate::test_support::{log_bodies, serve_args, text, tls_files};

fn logs(body: &str) -> ExportLogsServiceRequest {
    let record = LogRecord { time_unix_nano: 1_700_000_000_000_000_000, body: Some(text(body)), ..Default::default() };
    let scope_logs = vec![ScopeLogs { log_records: vec![record], ..Default::default() }];
    ExportLogsServiceRequest { resource_logs: vec![ResourceLogs { scope_logs, ..Default::default() }] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_trusting_clients_store_and_others_are_turned_away() {
    let (dir, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let files = tls_files(certs.path());
    let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
    let (cert, key) = (files.cert.to_str().unwrap(), files.key.to_str().unwrap());
    let server = Server::start(&serve_args(&["--tls-cert", cert, "--tls-key", key]), library).await.unwrap();
    let (http, grpc) = (server.http.unwrap(), server.grpc.unwrap());

    // Plain HTTP to the TLS port, and TLS without trusting the CA: refused, nothing stored.
    let plain = reqwest::Client::new()
        .post(format!("http://{http}/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .body(logs("plain text").encode_to_vec())
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP must not be served");
    let untrusting =
        reqwest::Client::builder().tls_backend_preconfigured(crate::tls::client_config(None).unwrap()).build().unwrap();
    let post_logs = |client: &reqwest::Client, body: &str| {
        client
            .post(format!("https://localhost:{}/v1/logs", http.port()))
            .header("content-type", "application/x-protobuf")
            .body(logs(body).encode_to_vec())
            .send()
    };
    let refused = post_logs(&untrusting, "untrusted").await.unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");

    // A client that trusts the CA: HTTP/protobuf, and the health endpoint.
    let trusting = reqwest::Client::builder()
        .tls_backend_preconfigured(crate::tls::client_config(Some(&files.ca)).unwrap())
        .build()
        .unwrap();
    let answer = post_logs(&trusting, "over https").await.unwrap();
    assert_eq!(answer.status(), 200);
    let health = trusting.get(format!("https://127.0.0.1:{}/health", http.port())).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // gRPC over TLS (ALPN h2), with tonic's client TLS.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(std::fs::read(&files.ca).unwrap()))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{grpc}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    LogsServiceClient::new(channel).export(logs("over grpc with tls")).await.unwrap();
    // A plain gRPC client cannot even connect.
    let plain_grpc = LogsServiceClient::connect(format!("http://{grpc}")).await;
    if let Ok(mut client) = plain_grpc {
        assert!(client.export(logs("plain grpc")).await.is_err(), "plain gRPC must not be served");
    }

    server.stop().await.unwrap();
    assert_eq!(log_bodies(dir.path()), ["over grpc with tls", "over https"].map(text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_or_key_that_does_not_load_fails_the_start_naming_the_file() {
    let (dir, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let files = tls_files(certs.path());
    let other = tls_files(&certs.path().join("other").tap_mkdir());
    let garbage = certs.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let cases = [
        (&garbage, &files.key, "holds no PEM certificate"),
        (&files.cert, &garbage, "reading the PEM private key"),
        (&certs.path().join("missing.pem"), &files.key, "missing.pem"),
        (&files.cert, &other.key, "does not go with the certificate"),
    ];
    for (cert, key, expected) in cases {
        let library = OtlpLibrary::new(Config::builder().output_dir(dir.path()).build().unwrap()).unwrap();
        let args = serve_args(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
        let Err(err) = Server::start(&args, library.clone()).await else { panic!("{cert:?} {key:?} started") };
        let text = format!("{err:#}");
        assert!(text.contains(expected), "{expected:?} not in {text}");
        library.shutdown().unwrap();
    }
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
