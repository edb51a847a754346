//! What the crate's tests share.

use std::path::Path;

use arrow_cast::display::{ArrayFormatter, FormatOptions};
use clap::Parser as _;
use opentelemetry_parquet::{StoreReader, Table};

use crate::replay::ReplayArgs;
use crate::serve::ServeArgs;
use crate::{Cli, Command};

/// A string `AnyValue`.
pub(crate) fn text(s: &str) -> opentelemetry_parquet::proto::common::v1::AnyValue {
    use opentelemetry_parquet::proto::common::v1::{any_value::Value, AnyValue};
    AnyValue { value: Some(Value::StringValue(s.into())) }
}

/// The bodies of every log record in the store, in a stable order.
pub(crate) fn log_bodies(dir: &Path) -> Vec<opentelemetry_parquet::proto::common::v1::AnyValue> {
    let logs = StoreReader::new(dir).read_logs().unwrap();
    let mut out: Vec<_> = logs
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .flat_map(|sl| &sl.log_records)
        .filter_map(|r| r.body.clone())
        .collect();
    out.sort_by_key(|b| format!("{b:?}"));
    out
}

/// `serve`'s options as the command line gives them: `args`, and each listener on an ephemeral
/// loopback port unless `args` says otherwise.
pub(crate) fn serve_args(args: &[&str]) -> ServeArgs {
    // As the command does first thing (the tests' HTTP clients need it too).
    crate::tls::install_default_provider();
    let mut line = vec!["opentelemetry-parquet", "serve"];
    for flag in ["--grpc", "--http"] {
        if !args.contains(&flag) {
            line.extend([flag, "127.0.0.1:0"]);
        }
    }
    match Cli::try_parse_from(line.iter().chain(args)) {
        Ok(Cli { command: Command::Serve(args) }) => args,
        other => panic!("serve {args:?}: {other:?}"),
    }
}

/// `replay DIR args` as the command line gives them.
pub(crate) fn replay_args(dir: &Path, args: &[&str]) -> ReplayArgs {
    let dir = dir.to_str().expect("a UTF-8 temporary directory");
    match Cli::try_parse_from(["opentelemetry-parquet", "replay", dir].iter().chain(args)) {
        Ok(Cli { command: Command::Replay(args) }) => args,
        other => panic!("replay {args:?}: {other:?}"),
    }
}

/// Every row of every table, each rendered as text, sorted.
pub(crate) fn rows(dir: &Path) -> Vec<(String, Vec<String>)> {
    let reader = StoreReader::new(dir);
    Table::ALL
        .iter()
        .map(|&table| {
            let mut out = Vec::new();
            for batch in reader.read_batches(table).unwrap() {
                let options = FormatOptions::default();
                let formatters: Vec<_> =
                    batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
                for row in 0..batch.num_rows() {
                    out.push(formatters.iter().map(|f| f.value(row).to_string()).collect::<Vec<_>>().join(" | "));
                }
            }
            out.sort();
            (table.name().to_owned(), out)
        })
        .collect()
}

/// Fails naming, table by table, the rows only one side has (not two whole stores).
pub(crate) fn assert_same_rows(left: &[(String, Vec<String>)], right: &[(String, Vec<String>)], what: &str) {
    let mut differences = Vec::new();
    for ((table, a), (_, b)) in left.iter().zip(right) {
        let only_left: Vec<_> = a.iter().filter(|row| !b.contains(row)).take(2).collect();
        let only_right: Vec<_> = b.iter().filter(|row| !a.contains(row)).take(2).collect();
        if a.len() != b.len() || !only_left.is_empty() || !only_right.is_empty() {
            differences.push(format!(
                "{table}: {} vs {} rows\n  only left: {only_left:#?}\n  only right: {only_right:#?}",
                a.len(),
                b.len()
            ));
        }
    }
    assert!(differences.is_empty(), "{what}:\n{}", differences.join("\n"));
}

/// PEM files for TLS tests, in `dir`: a CA's certificate (`ca.pem`), and a server certificate
/// for `localhost` and 127.0.0.1 signed by it (`cert.pem`) with its key (`key.pem`).
pub(crate) struct TlsFiles {
    pub(crate) ca: std::path::PathBuf,
    pub(crate) cert: std::path::PathBuf,
    pub(crate) key: std::path::PathBuf,
}

pub(crate) fn tls_files(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "opentelemetry-parquet test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let files = TlsFiles { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.ca, ca.pem()).unwrap();
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    files
}
