//! `opentelemetry-parquet serve`: an OTLP endpoint (gRPC and HTTP) that stores what any
//! OpenTelemetry program sends into one [`OtlpLibrary`].
//!
//! A request is acknowledged only once it is in the library's buffer; one the library refuses
//! stores nothing and gets the OTLP answer that tells the client whether to retry (see
//! [`ingest::Refusal`]). On Ctrl-C or SIGTERM both listeners stop accepting, finish the
//! requests in flight, and the library flushes before the command exits 0.

mod auth;
pub(crate) mod grpc;
mod http;
mod ingest;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use opentelemetry_parquet::{Config, OtlpError, OtlpLibrary};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest request accepted (compressed and decompressed), beyond which HTTP answers 413
/// and gRPC `OUT_OF_RANGE` (the OTLP exporters send a few MiB at most).
pub(crate) const DEFAULT_MAX_REQUEST_BYTES: usize = 64 << 20;
/// The default budget of requests waiting for buffer space (see [`ingest::Ingest`]).
pub(crate) const DEFAULT_MAX_PENDING_BYTES: usize = 32 << 20;

/// `serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// The store's directory (default: $OTEL_PARQUET_OUTPUT_DIR, else ./otel-data). The other
    /// storage options come from the same OTEL_PARQUET_* variables as in the library.
    #[arg(long)]
    pub(crate) output_dir: Option<PathBuf>,
    /// The OTLP/gRPC listener's address, or `off`.
    #[arg(long, default_value = "127.0.0.1:4317")]
    pub(crate) grpc: String,
    /// The OTLP/HTTP listener's address, or `off`.
    #[arg(long, default_value = "127.0.0.1:4318")]
    pub(crate) http: String,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub(crate) max_request_bytes: usize,
    /// How many bytes of requests (as protobuf) may wait for buffer space at once; beyond it
    /// requests are answered "retry later" (503 / UNAVAILABLE), so an overload cannot pile up
    /// decoded requests in memory beside the buffer.
    #[arg(long, default_value_t = DEFAULT_MAX_PENDING_BYTES)]
    pub(crate) max_pending_bytes: usize,
    /// Accept only requests with `Authorization: Bearer <TOKEN>` (the OTLP exporters send it with
    /// `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <TOKEN>"`).
    #[arg(long, env = "OTEL_PARQUET_SERVE_BEARER_TOKEN", hide_env_values = true)]
    pub(crate) bearer_token: Option<String>,
    /// Serve both listeners over TLS with this certificate chain (PEM; clients then use
    /// `https://`). Needs --tls-key.
    #[arg(long, env = "OTEL_PARQUET_SERVE_TLS_CERT", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "OTEL_PARQUET_SERVE_TLS_KEY", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The TLS configuration both listeners share (each adds its ALPN), when TLS is asked for.
    fn tls(&self) -> Result<Option<rustls::ServerConfig>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => crate::tls::server_config(cert, key).map(Some),
            _ => Ok(None),
        }
    }
}

/// A listener's address, or `None` for `off`.
fn listen_address(value: &str, flag: &str) -> Result<Option<SocketAddr>> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    value.parse().map(Some).with_context(|| format!("--{flag} {value:?} is neither an address (host:port) nor `off`"))
}

/// A running server: its bound addresses, and the handle that stops it.
pub(crate) struct Server {
    pub(crate) grpc: Option<SocketAddr>,
    pub(crate) http: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Result<()>>>,
    library: OtlpLibrary,
}

impl Server {
    /// Binds the listeners and starts serving into `library`.
    pub(crate) async fn start(args: &ServeArgs, library: OtlpLibrary) -> Result<Server> {
        let grpc_address = listen_address(&args.grpc, "grpc")?;
        let http_address = listen_address(&args.http, "http")?;
        anyhow::ensure!(grpc_address.is_some() || http_address.is_some(), "both listeners are off: nothing to serve");
        let tls = args.tls()?;
        let (stop, stopped) = watch::channel(false);
        // One budget for both listeners.
        let ingest = ingest::Ingest::new(library.clone(), args.max_pending_bytes);
        let mut tasks = Vec::new();
        let mut bound = (None, None);
        if let Some(address) = grpc_address {
            let listener =
                TcpListener::bind(address).await.with_context(|| format!("binding the gRPC listener to {address}"))?;
            bound.0 = Some(listener.local_addr()?);
            let mut router =
                grpc::routes(grpc::Grpc { ingest: ingest.clone() }, args.max_request_bytes).into_axum_router();
            if let Some(token) = &args.bearer_token {
                let token = auth::Token(token.as_str().into());
                router = router.layer(axum::middleware::from_fn_with_state(token, auth::grpc));
            }
            let routes = tonic::service::Routes::from(router);
            let tls = tls.as_ref().map(|config| crate::tls::with_alpn(config, b"h2"));
            let (mut stopped, accepting) = (stopped.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                let server = tonic::transport::Server::builder().add_routes(routes);
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                match tls {
                    Some(config) => {
                        let connections = crate::tls::stream(crate::tls::incoming(listener, config, accepting));
                        server.serve_with_incoming_shutdown(connections, shutdown).await
                    }
                    None => {
                        // tonic sets TCP_NODELAY only on listeners it binds itself: without it
                        // every answer waited out the client's delayed ACK (44 ms a request).
                        let connections =
                            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
                        server.serve_with_incoming_shutdown(connections, shutdown).await
                    }
                }
                .context("the gRPC listener failed")
            }));
        }
        if let Some(address) = http_address {
            let listener =
                TcpListener::bind(address).await.with_context(|| format!("binding the HTTP listener to {address}"))?;
            bound.1 = Some(listener.local_addr()?);
            let mut app = http::router(http::Http { ingest: ingest.clone(), max_body_bytes: args.max_request_bytes });
            if let Some(token) = &args.bearer_token {
                let token = auth::Token(token.as_str().into());
                app = app.layer(axum::middleware::from_fn_with_state(token, auth::http));
            }
            // axum serves HTTP/1.1 (what the OTLP/HTTP exporters speak).
            let tls = tls.as_ref().map(|config| crate::tls::with_alpn(config, b"http/1.1"));
            let (mut stopped, accepting) = (stopped.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                match tls {
                    Some(config) => {
                        let local = listener.local_addr()?;
                        let connections = crate::tls::incoming(listener, config, accepting);
                        let listener = crate::tls::Listener { connections, local };
                        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
                    }
                    None => {
                        use axum::serve::ListenerExt as _;
                        let listener = listener.tap_io(|stream| {
                            let _ = stream.set_nodelay(true);
                        });
                        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
                    }
                }
                .context("the HTTP listener failed")
            }));
        }
        Ok(Server { grpc: bound.0, http: bound.1, stop, tasks, library })
    }

    /// Stops accepting, waits for the requests in flight, then flushes and shuts the library down.
    pub(crate) async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.context("a listener task panicked")??;
        }
        let library = self.library;
        tokio::task::spawn_blocking(move || flush_everything(&library)).await?
    }
}

/// Writes everything acknowledged, however long that takes, then shuts the library down. Its
/// own `shutdown` waits only `export_timeout` and leaves the rest to a writer thread that the
/// process's exit would kill: nothing acknowledged may be lost that way.
fn flush_everything(library: &OtlpLibrary) -> Result<()> {
    loop {
        match library.flush_with_timeout(std::time::Duration::from_secs(30)) {
            Ok(()) => break,
            Err(OtlpError::Timeout { .. }) => eprintln!("serve: still writing what was acknowledged..."),
            Err(e) => return Err(e).context("flushing the store"),
        }
    }
    // Everything is written: what is left (closing the writer) needs no export_timeout, which
    // may be set as low as a millisecond and would fail a stop that lost nothing.
    library.shutdown_with_timeout(std::time::Duration::from_secs(30)).context("shutting the store down")
}

/// Resolves when the process is asked to stop: Ctrl-C everywhere; SIGTERM (what service
/// managers and `kill` send) on Unix; Ctrl-Break, closing the console window and system
/// shutdown on Windows. A handler that cannot be installed is left out, never fatal.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        tokio::select! {
            Ok(()) = tokio::signal::ctrl_c() => {}
            Some(_) = async { term.as_mut()?.recv().await } => {}
            // No handler could be installed: only killing the process stops it.
            else => std::future::pending().await,
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        let mut ctrl_break = windows::ctrl_break().ok();
        let mut close = windows::ctrl_close().ok();
        let mut shutdown = windows::ctrl_shutdown().ok();
        tokio::select! {
            Ok(()) = tokio::signal::ctrl_c() => {}
            Some(_) = async { ctrl_break.as_mut()?.recv().await } => {}
            Some(_) = async { close.as_mut()?.recv().await } => {}
            Some(_) = async { shutdown.as_mut()?.recv().await } => {}
            else => std::future::pending().await,
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// `opentelemetry-parquet serve`.
pub(crate) fn run(args: ServeArgs) -> Result<()> {
    let mut builder = Config::builder().with_env()?;
    if let Some(dir) = &args.output_dir {
        builder = builder.output_dir(dir);
    }
    let library = OtlpLibrary::new(builder.build()?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let server = Server::start(&args, library.clone()).await?;
        let dir = library.config().output_dir().display().to_string();
        let tls = if args.tls_cert.is_some() { " over TLS (https://)" } else { "" };
        for (name, address, hint) in [
            ("OTLP/gRPC", server.grpc, ""),
            ("OTLP/HTTP", server.http, " (/v1/traces, /v1/metrics, /v1/logs; /health)"),
        ] {
            if let Some(address) = address {
                eprintln!("serve: {name} on {address}{tls}{hint}");
            }
        }
        eprintln!("serve: storing into {dir}; Ctrl-C or SIGTERM (Ctrl-Break on Windows) stops, flushing first");
        termination().await;
        eprintln!("serve: stopping: finishing the requests in flight and flushing");
        server.stop().await?;
        eprintln!("serve: stopped; everything acknowledged is in {dir}");
        Ok(())
    })
}

#[cfg(test)]
mod clients_tests;
#[cfg(test)]
mod overload_tests;
#[cfg(test)]
mod shutdown_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
