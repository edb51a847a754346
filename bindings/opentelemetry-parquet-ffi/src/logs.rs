//! The log batches of the Python log exporter (`ParquetLogExporter`): the layout of BATCH_FORMAT.md,
//! "Log records". The batch, its resource and scope groups, attribute dicts and values are read
//! as [`crate::batch`] reads them for spans and metrics; this module reads the one tuple per log
//! record and builds the OTLP request the Rust log exporter would produce for the same telemetry.

use opentelemetry_parquet::proto::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_parquet::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use crate::batch::{at, decode, Result, Walk};
use crate::pickle::Id;

/// Decodes a log batch into the OTLP request it stands for.
pub(crate) fn logs(bytes: &[u8]) -> Result<ExportLogsServiceRequest> {
    decode("log", bytes, |w| {
        let resource_logs = w.groups(
            "log record",
            Walk::log_record,
            |scope, schema_url, log_records| ScopeLogs { scope, schema_url, log_records },
            |resource, schema_url, scope_logs| ResourceLogs { resource, schema_url, scope_logs },
        )?;
        Ok(ExportLogsServiceRequest { resource_logs })
    })
}

impl Walk<'_, '_> {
    /// `(time_unix_nano, observed_time_unix_nano, trace_id, span_id, flags, severity_text,
    /// severity_number, body, attributes, dropped_attributes, event_name)`.
    fn log_record(&self, id: Id) -> Result<LogRecord> {
        let [time, observed, trace_id, span_id, flags, severity_text, severity_number, body, attrs, dropped, event_name] =
            self.fields(id, "a log record (a tuple of 11 elements, BATCH_FORMAT.md)")?;
        Ok(LogRecord {
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            observed_time_unix_nano: self.u64(observed).map_err(at("observed_time_unix_nano"))?,
            trace_id: self.opt_id::<16>(trace_id).map_err(at("trace_id"))?.unwrap_or_default(),
            span_id: self.opt_id::<8>(span_id).map_err(at("span_id"))?.unwrap_or_default(),
            flags: self.u32(flags).map_err(at("flags"))?,
            severity_text: self.opt_str(severity_text).map_err(at("severity_text"))?.unwrap_or_default().to_owned(),
            severity_number: self.i32(severity_number).map_err(at("severity_number"))?,
            // None is a record without a body (the OTLP field unset).
            body: self.opt_value(body).map_err(at("body"))?,
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            dropped_attributes_count: self.u32(dropped).map_err(at("dropped_attributes"))?,
            event_name: self.opt_str(event_name).map_err(at("event_name"))?.unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BATCH_FORMAT_VERSION;
    use crate::pickle::testing::{dict, dumps, s, P};
    use opentelemetry_parquet::proto::common::v1::{any_value::Value as V, AnyValue, ArrayValue, KeyValueList};

    fn batch(records: Vec<P>) -> Vec<u8> {
        let scope =
            P::Tuple(vec![s("app.logger"), s("2.0"), s("https://scope"), dict(vec![("k", s("v"))]), P::List(records)]);
        let resource = P::Tuple(vec![
            dict(vec![("service.name", s("svc")), ("a.first", P::Int(1))]),
            s("https://schema"),
            P::Int(2),
            P::List(vec![scope]),
        ]);
        dumps(&P::Tuple(vec![P::Int(BATCH_FORMAT_VERSION.into()), P::List(vec![resource])]))
    }

    fn record(body: P) -> P {
        P::Tuple(vec![
            P::Int(10),
            P::Int(12),
            P::Bytes(vec![1; 16]),
            P::Bytes(vec![2; 8]),
            P::Int(1),
            s("WARN"),
            P::Int(13),
            body,
            dict(vec![("code.lineno", P::Int(42)), ("nested", dict(vec![("a", P::List(vec![P::None, P::Int(1)]))]))]),
            P::Int(3),
            s("app.started"),
        ])
    }

    fn any(value: V) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn a_log_batch_becomes_the_otlp_request() {
        let request = logs(&batch(vec![record(s("hello"))])).expect("valid batch");
        let rl = &request.resource_logs[0];
        let resource = rl.resource.as_ref().unwrap();
        let keys: Vec<_> = resource.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["a.first", "service.name"], "SDK resources are stored sorted");
        assert_eq!((resource.dropped_attributes_count, rl.schema_url.as_str()), (2, "https://schema"));
        let sl = &rl.scope_logs[0];
        let scope = sl.scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str(), sl.schema_url.as_str()),
            ("app.logger", "2.0", "https://scope")
        );
        let r = &sl.log_records[0];
        assert_eq!((r.time_unix_nano, r.observed_time_unix_nano, r.flags), (10, 12, 1));
        assert_eq!((r.trace_id.clone(), r.span_id.clone()), (vec![1; 16], vec![2; 8]));
        assert_eq!((r.severity_text.as_str(), r.severity_number), ("WARN", 13));
        assert_eq!(r.body, Some(any(V::StringValue("hello".into()))));
        assert_eq!((r.dropped_attributes_count, r.event_name.as_str()), (3, "app.started"));
        assert_eq!(r.attributes[0].value, Some(any(V::IntValue(42))));
        let Some(V::KvlistValue(nested)) = r.attributes[1].value.clone().and_then(|v| v.value) else {
            panic!("{:?}", r.attributes[1])
        };
        let array = any(V::ArrayValue(ArrayValue { values: vec![AnyValue { value: None }, any(V::IntValue(1))] }));
        assert_eq!((nested.values[0].key.as_str(), nested.values[0].value.clone()), ("a", Some(array)));
    }

    #[test]
    fn every_body_type_and_no_body() {
        let bodies = [
            (P::None, None),
            (P::Int(-7), Some(any(V::IntValue(-7)))),
            (P::Float(0.5), Some(any(V::DoubleValue(0.5)))),
            (P::Bool(false), Some(any(V::BoolValue(false)))),
            (P::Bytes(vec![0, 255]), Some(any(V::BytesValue(vec![0, 255])))),
            (P::List(vec![]), Some(any(V::ArrayValue(ArrayValue { values: vec![] })))),
            (dict(vec![]), Some(any(V::KvlistValue(KeyValueList { values: vec![] })))),
        ];
        for (body, expected) in bodies {
            let request = logs(&batch(vec![record(body.clone())])).expect("valid body");
            assert_eq!(request.resource_logs[0].scope_logs[0].log_records[0].body, expected, "{body:?}");
        }
    }

    #[test]
    fn absent_optional_fields_are_the_otlp_defaults() {
        let mut r = record(P::None);
        if let P::Tuple(fields) = &mut r {
            fields[2] = P::None;
            fields[3] = P::None;
            fields[5] = P::None;
            fields[8] = P::None;
            fields[10] = P::None;
        }
        let request = logs(&batch(vec![r])).expect("valid record");
        let r = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert!(r.trace_id.is_empty() && r.span_id.is_empty() && r.attributes.is_empty());
        assert_eq!((r.severity_text.as_str(), r.event_name.as_str(), r.body.clone()), ("", "", None));
    }

    /// `record` with field `i` replaced by `value`: the error.
    fn with_field(i: usize, value: P) -> String {
        let mut changed = record(s("body"));
        if let P::Tuple(fields) = &mut changed {
            fields[i] = value;
        }
        logs(&batch(vec![changed])).unwrap_err()
    }

    #[test]
    fn every_field_is_checked_and_named() {
        let cases = [
            (0, s("now"), r#"time_unix_nano: invalid type: string "now", expected u64"#),
            (1, P::Int(-1), "observed_time_unix_nano: invalid value: integer `-1`, expected u64"),
            (2, P::Bytes(vec![1; 8]), "trace_id: an ID of 16 bytes, got 8 bytes"),
            (3, P::Int(0), "span_id: invalid type: integer `0`, expected an ID of 8 bytes"),
            (4, P::Int(1 << 32), "flags: invalid value: integer `4294967296`, expected u32"),
            (5, P::Int(3), "severity_text: invalid type: integer `3`, expected a string"),
            (6, P::None, "severity_number: invalid type: None, expected i32"),
            (7, P::Int(1 << 64), "body: invalid value: integer too large for 64 bits"),
            (7, P::Dict(vec![(P::Int(1), s("v"))]), "body: invalid type: integer `1`, expected a string"),
            (7, dict(vec![("k", P::Int(1 << 63))]), r#"body: key "k": invalid value: integer `9223372036854775808`"#),
            (8, P::List(vec![]), "attributes: invalid type: sequence, expected an attribute dict"),
            (9, P::Bool(true), "dropped_attributes: invalid type: boolean `true`, expected u32"),
            (10, P::Bytes(vec![]), "event_name: invalid type: byte array, expected a string"),
        ];
        for (i, value, expected) in cases {
            let err = with_field(i, value.clone());
            assert!(err.contains("malformed log batch"), "{err}");
            assert!(
                err.contains(&format!("resource group 0, scope group 0, log record 0: {expected}")),
                "field {i} = {value:?}: {err}"
            );
        }
        let err = logs(&batch(vec![P::Tuple(vec![P::Int(1); 10])])).unwrap_err();
        assert!(
            err.contains("log record 0: invalid length 10, expected a log record (a tuple of 11 elements"),
            "{err}"
        );
        let err = logs(&batch(vec![record(s("ok")), P::None])).unwrap_err();
        assert!(err.contains("log record 1: invalid type: None, expected a log record"), "{err}");
        let err = logs(&dumps(&P::Tuple(vec![P::Int(2), P::List(vec![])]))).unwrap_err();
        assert!(err.contains("batch format version 2"), "{err}");
        assert!(logs(b"\x80\x05garbage").unwrap_err().contains("malformed log batch"));
    }
}
