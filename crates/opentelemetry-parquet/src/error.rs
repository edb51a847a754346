//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in `opentelemetry-parquet`.
///
/// Every variant carries the context needed to act on it (which option, which file, how long
/// the wait was). Convert to the SDK's error with `OTelSdkError::from`: shutdown and timeouts map
/// to their own SDK variants, everything else to `InternalFailure` with the full source chain in
/// the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// A configuration value was rejected.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The option (builder method or `OTEL_PARQUET_*` variable) that was wrong.
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The output directory could not be created or is not writable.
    #[error("output directory {path} is not usable: {source}")]
    OutputDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Input was not a valid OTLP message (malformed protobuf, or an attribute value nested
    /// deeper than [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH)). Nothing from it was stored.
    #[error("malformed {message}: {reason}")]
    Decode {
        /// The message type that was expected, e.g. `ExportTraceServiceRequest`.
        message: &'static str,
        /// What was wrong (the protobuf decode error, or the value that nests too deep).
        reason: String,
    },

    /// An export was refused whole, before anything of it was stored, because it needs more
    /// buffer memory than a limit allows. Split it, or raise `max_buffer_bytes`.
    #[error("export refused, nothing of it was stored: it needs {bytes} bytes of buffer, more than {limit} ({limit_bytes} bytes)")]
    ExportTooLarge {
        /// The buffer bytes the export (or its largest row) needs.
        bytes: usize,
        /// The limit it exceeds.
        limit_bytes: usize,
        /// Which limit: `max_buffer_bytes`, or the largest row a file can hold.
        limit: &'static str,
    },

    /// The library's writer thread failed (it panicked); nothing more can be stored by this
    /// library. Every export and flush returns this at once.
    #[error("the writer of this library failed and accepts nothing more: {reason}")]
    WriterFailed {
        /// What happened.
        reason: String,
    },

    /// The library was created in another process: this process is a `fork()` child of it.
    /// Its buffer and writer thread belong to the parent; create a new library in the child.
    #[error("this OtlpLibrary was created in process {created_in} and cannot be used in process {current} (a forked child); create a new one")]
    ForkedProcess {
        /// The process that created the library.
        created_in: u32,
        /// This process.
        current: u32,
    },

    /// A file of the store could not be written, renamed, read or deleted.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Arrow could not build or read a record batch.
    #[error("Arrow error while {context}: {source}")]
    Arrow {
        /// What was being done.
        context: String,
        /// The Arrow error.
        #[source]
        source: arrow_schema::ArrowError,
    },

    /// The Parquet writer or reader failed.
    #[error("Parquet error on {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A stored file does not have the shape this crate writes.
    #[error("{path} is not a valid opentelemetry-parquet file: {reason}")]
    InvalidStoreFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// The buffer stayed at its memory cap for longer than the export timeout.
    #[error(
        "buffer full: {buffered_bytes} bytes buffered against a cap of {cap_bytes} bytes and \
         no room was made within {waited:?} (is the output directory writable? last write error: {last_error})"
    )]
    BufferFull {
        /// Bytes buffered or being written when the wait gave up.
        buffered_bytes: usize,
        /// The configured cap (`max_buffer_bytes`).
        cap_bytes: usize,
        /// How long the export waited.
        waited: Duration,
        /// The last error of the background writer, or `none`.
        last_error: String,
    },

    /// A flush or shutdown did not complete in time. The data stays buffered and is written
    /// by the background writer later.
    #[error("{operation} timed out after {timeout:?}")]
    Timeout {
        /// `flush` or `shutdown`.
        operation: &'static str,
        /// The time limit.
        timeout: Duration,
    },

    /// The library (or the exporter) was shut down; the call did nothing.
    #[error("{0} was already shut down")]
    AlreadyShutdown(&'static str),

    /// Writing buffered data failed; the data is kept and retried by the next flush.
    #[error("flush failed, {rows} rows kept in the buffer for retry: {message}")]
    FlushFailed {
        /// Rows that remain buffered.
        rows: usize,
        /// The underlying error, with its source chain.
        message: String,
    },
}

impl OtlpError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn arrow(context: impl Into<String>, source: arrow_schema::ArrowError) -> Self {
        Self::Arrow { context: context.into(), source }
    }

    pub(crate) fn invalid_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::InvalidStoreFile { path: path.into(), reason: reason.into() }
    }

    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig { field: field.to_owned(), reason: reason.into() }
    }

    /// The message followed by every underlying cause (`source()` chain), joined by `: `. This
    /// is what `OTelSdkError::InternalFailure` and the Python bindings carry.
    pub fn full_message(&self) -> String {
        error_chain(self)
    }
}

/// The error's message followed by every `source()` in its chain, joined by `: `.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `Result` with [`OtlpError`].
pub type Result<T, E = OtlpError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_error_names_the_message() {
        let source =
            <crate::proto::collector::trace::v1::ExportTraceServiceRequest as prost::Message>::decode(&b"\xff\xff"[..])
                .unwrap_err();
        let err = OtlpError::Decode { message: "ExportTraceServiceRequest", reason: source.to_string() };
        let text = error_chain(&err);
        assert!(text.starts_with("malformed ExportTraceServiceRequest: "), "{text}");
    }
}
