//! TLS (rustls, with the `ring` provider on every platform): `serve`'s listeners with
//! `--tls-cert`/`--tls-key`, and `replay`'s clients to `https://` endpoints, which trust the
//! system's roots plus an optional `--ca-cert`.
//!
//! Both listeners take connections through [`incoming`]: the TLS handshake runs in a task of its
//! own (bounded by [`HANDSHAKE_TIMEOUT`]), so a client that connects and says nothing holds up
//! nobody, and a failed handshake closes that connection alone.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// rustls's `ring` provider: TLS 1.2 and 1.3 with X25519 and the NIST curves. rustls 0.23.48
/// deprecates it for want of post-quantum key exchange, which only its `aws-lc-rs` provider has;
/// that one builds a C library (cmake or NASM on some platforms) into every build of the
/// command. Classical key exchange is what the OTLP exporters offer today anyway.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes [`provider`] the process's default: reqwest builds every client, TLS or not, with the
/// default provider, and panics without one. Idempotent; the command calls it first thing.
pub(crate) fn install_default_provider() {
    // Err means a provider is installed already: the first one stays.
    let _ = Arc::unwrap_or_clone(provider()).install_default();
}

/// The certificates of a PEM file, naming the file when it has none or cannot be read.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|found| found.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the PEM certificates of {}", path.display()))?;
    if certificates.is_empty() {
        bail!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display());
    }
    Ok(certificates)
}

/// The server's configuration from a certificate chain and a private key (PEM files), read
/// once for both listeners ([`with_alpn`] makes each one's).
pub(crate) fn server_config(cert: &Path, key_file: &Path) -> Result<rustls::ServerConfig> {
    let chain = certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("reading the PEM private key of {} (PKCS#8, PKCS#1 or SEC1)", key_file.display()))?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!("the private key {} does not go with the certificate {}", key_file.display(), cert.display())
        })
}

/// `config` offering the one protocol `alpn` (`h2` for gRPC, `http/1.1` for OTLP/HTTP).
pub(crate) fn with_alpn(config: &rustls::ServerConfig, alpn: &[u8]) -> Arc<rustls::ServerConfig> {
    let mut config = config.clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A client configuration trusting the system's root certificates and, when given, the
/// certificates of `ca` (a private CA, or a self-signed server certificate).
pub(crate) fn client_config(ca: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    // The system's store may be missing or partly unreadable (a minimal container): what loads
    // is used; an empty store only matters if nothing else is trusted, which the handshake says.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(ca) = ca {
        for certificate in certificates(ca)? {
            roots.add(certificate).with_context(|| format!("{} is not a usable CA certificate", ca.display()))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("the TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The TLS connections of `listener`, handshaken, until `stopped` turns true. A handshake that
/// fails or times out is reported on stderr and closes that connection only.
pub(crate) fn incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    mut stopped: watch::Receiver<bool>,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)> {
    let (sender, receiver) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = async { stopped.wait_for(|s| *s).await.map(drop) } => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of file descriptors and the like: the listener stays; try again shortly.
                    Err(e) => {
                        eprintln!("serve: accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            // As for plain connections: answers go out at once, not after a delayed ACK.
            let _ = stream.set_nodelay(true);
            let (acceptor, sender) = (acceptor.clone(), sender.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = sender.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => eprintln!("serve: TLS handshake with {peer} failed: {e}"),
                    Err(_) => eprintln!("serve: TLS handshake with {peer} timed out after {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    receiver
}

/// [`incoming`] as axum's listener (the OTLP/HTTP side).
pub(crate) struct Listener {
    pub(crate) connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    pub(crate) local: SocketAddr,
}

impl axum::serve::Listener for Listener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accept loop ended (stopping): the graceful shutdown ends the server.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// [`incoming`] as tonic's stream of connections (the OTLP/gRPC side).
pub(crate) fn stream(
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
) -> impl tokio_stream::Stream<Item = io::Result<TlsStream<TcpStream>>> {
    tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(connections), |(tls, _)| Ok(tls))
}
