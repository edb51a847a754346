//! The batch format the Python exporters send: plain Python values (tuples, lists, dicts, str,
//! int, float, bool, bytes, None) pickled with protocol 4 or 5, laid out as `BATCH_FORMAT.md`
//! (next to this crate's Cargo.toml) defines: the one definition of the layout, which the Python
//! encoder (`opentelemetry.exporter.parquet._encoding`) writes and this module reads. Every batch
//! starts with its format version ([`BATCH_FORMAT_VERSION`]); another version is a `Decode` error
//! saying so. Building such values from the Python SDK's objects and pickling them (in C) costs a
//! few microseconds per span, a fraction of building OTLP protobuf messages in Python.
//!
//! This module validates a batch against the layout (a wrong shape or type is a `Decode` error
//! naming what was wrong, and nothing is stored) and turns it into the OTLP request the Rust
//! exporters would produce for the same telemetry. Before decoding, [`scan::check`](crate::scan)
//! bounds the pickle's nesting in one linear pass, so no batch can make the decoder recurse
//! without bound.

use std::fmt;

use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_parquet::proto::metrics::v1 as m;
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A Python attribute value.
#[derive(Debug, Clone, PartialEq)]
enum PyValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    List(Vec<PyValue>),
    None,
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PyValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value (str, bool, int, float, bytes or a list of them)")
            }
            fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
                Ok(PyValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
                Ok(PyValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PyValue, E> {
                i64::try_from(v).map(PyValue::Int).map_err(|_| E::custom(format!("int {v} does not fit in 64 bits")))
            }
            fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
                Ok(PyValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
                Ok(PyValue::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<PyValue, E> {
                Ok(PyValue::Str(v))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<PyValue, E> {
                Ok(PyValue::Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<PyValue, E> {
                Ok(PyValue::Bytes(v))
            }
            fn visit_none<E>(self) -> Result<PyValue, E> {
                Ok(PyValue::None)
            }
            fn visit_unit<E>(self) -> Result<PyValue, E> {
                Ok(PyValue::None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(PyValue::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl PyValue {
    fn into_any(self) -> AnyValue {
        use any_value::Value;
        let value = match self {
            PyValue::Str(s) => Some(Value::StringValue(s)),
            PyValue::Bool(b) => Some(Value::BoolValue(b)),
            PyValue::Int(i) => Some(Value::IntValue(i)),
            PyValue::Float(f) => Some(Value::DoubleValue(f)),
            PyValue::Bytes(b) => Some(Value::BytesValue(b)),
            PyValue::List(items) => {
                Some(Value::ArrayValue(ArrayValue { values: items.into_iter().map(PyValue::into_any).collect() }))
            }
            PyValue::None => None,
        };
        AnyValue { value }
    }
}

/// A trace (16 bytes) or span (8 bytes) ID: `bytes` of exactly that length, nothing else.
#[derive(Debug, Clone, PartialEq)]
struct Id<const N: usize>(Vec<u8>);

impl<'de, const N: usize> Deserialize<'de> for Id<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for V<N> {
            type Value = Id<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an ID of {N} bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Id<N>, E> {
                if v.len() == N {
                    Ok(Id(v.to_vec()))
                } else {
                    Err(E::custom(format!("an ID of {N} bytes, got {} bytes", v.len())))
                }
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Id<N>, E> {
                self.visit_bytes(&v)
            }
        }
        d.deserialize_bytes(V::<N>)
    }
}

type TraceId = Id<16>;
type SpanId = Id<8>;

/// An attribute dict, in its insertion order.
#[derive(Debug, Default)]
struct Attrs(Vec<(String, PyValue)>);

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attrs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute dict (str keys)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, PyValue>()? {
                    out.push((k, v));
                }
                Ok(Attrs(out))
            }
            fn visit_none<E>(self) -> Result<Attrs, E> {
                Ok(Attrs::default())
            }
            fn visit_unit<E>(self) -> Result<Attrs, E> {
                Ok(Attrs::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl Attrs {
    fn into_key_values(self) -> Vec<KeyValue> {
        self.0.into_iter().map(|(key, v)| KeyValue { key, value: Some(v.into_any()) }).collect()
    }

    fn into_sorted_key_values(mut self) -> Vec<KeyValue> {
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        self.into_key_values()
    }
}

#[derive(Debug, Deserialize)]
struct ResourceGroup<T>(Attrs, Option<String>, u32, Vec<ScopeGroup<T>>);

#[derive(Debug, Deserialize)]
struct ScopeGroup<T>(String, Option<String>, Option<String>, Option<Attrs>, Vec<T>);

#[derive(Debug, Deserialize)]
struct PySpan(
    TraceId,
    SpanId,
    Option<SpanId>,
    bool,
    u32,
    String,
    String,
    i32,
    u64,
    u64,
    Option<Attrs>,
    u32,
    Option<Vec<PyEvent>>,
    u32,
    Option<Vec<PyLink>>,
    u32,
    i32,
    Option<String>,
);

#[derive(Debug, Deserialize)]
struct PyEvent(String, u64, Option<Attrs>, u32);

#[derive(Debug, Deserialize)]
struct PyLink(TraceId, SpanId, u32, bool, String, Option<Attrs>, u32);

fn flags(trace_flags: u32, is_remote: bool) -> u32 {
    (trace_flags & 0xff) | 0x100 | if is_remote { 0x200 } else { 0 }
}

fn resource(attrs: Attrs, dropped: u32) -> Option<Resource> {
    Some(Resource {
        attributes: attrs.into_sorted_key_values(),
        dropped_attributes_count: dropped,
        entity_refs: vec![],
    })
}

fn scope(name: String, version: Option<String>, attrs: Option<Attrs>) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name,
        version: version.unwrap_or_default(),
        attributes: attrs.unwrap_or_default().into_key_values(),
        dropped_attributes_count: 0,
    })
}

/// The version of the batch layout (BATCH_FORMAT.md) this build reads: the first element of
/// every batch.
pub(crate) const BATCH_FORMAT_VERSION: u32 = 1;

/// A batch: `(version, [resource_group, ...])`.
#[derive(Debug)]
struct Versioned<T>(Vec<ResourceGroup<T>>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Versioned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Versioned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a batch (format version, resource groups)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Versioned<T>, A::Error> {
                let Version(version) = seq.next_element()?.ok_or_else(|| de::Error::custom("empty batch"))?;
                if version != i128::from(BATCH_FORMAT_VERSION) {
                    return Err(de::Error::custom(format!(
                        "batch format version {version}, but this opentelemetry-parquet reads version \
                         {BATCH_FORMAT_VERSION} (BATCH_FORMAT.md): install opentelemetry-parquet and \
                         opentelemetry-exporter-parquet releases made for each other"
                    )));
                }
                let groups = seq.next_element()?.ok_or_else(|| de::Error::custom("batch ends after its version"))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("batch has more than (version, resource groups)"));
                }
                Ok(Versioned(groups))
            }
        }
        d.deserialize_tuple(2, V(std::marker::PhantomData))
    }
}

/// The first element of a batch.
struct Version(i128);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "the batch format version (an int) as the first element of the batch; a batch without \
                     one comes from an opentelemetry-exporter-parquet older than this opentelemetry-parquet",
                )
            }
            fn visit_i64<E>(self, v: i64) -> Result<Version, E> {
                Ok(Version(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Version, E> {
                Ok(Version(v.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Scans and decodes a batch; the error is text naming the format.
fn decode<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<Vec<ResourceGroup<T>>, String> {
    let malformed = |e: &dyn fmt::Display| {
        format!("malformed {what} batch (expected the opentelemetry-parquet batch format, BATCH_FORMAT.md): {e}")
    };
    crate::scan::check(bytes).map_err(|e| malformed(&e))?;
    let Versioned(groups) =
        serde_pickle::from_slice(bytes, serde_pickle::DeOptions::new()).map_err(|e| malformed(&e))?;
    Ok(groups)
}

/// Decodes a span batch into the OTLP request it stands for.
pub(crate) fn traces(bytes: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let groups: Vec<ResourceGroup<PySpan>> = decode("span", bytes)?;
    let resource_spans = groups
        .into_iter()
        .map(|ResourceGroup(attrs, schema_url, dropped, scopes)| ResourceSpans {
            resource: resource(attrs, dropped),
            schema_url: schema_url.unwrap_or_default(),
            scope_spans: scopes
                .into_iter()
                .map(|ScopeGroup(name, version, schema_url, attrs, spans)| ScopeSpans {
                    scope: scope(name, version, attrs),
                    schema_url: schema_url.unwrap_or_default(),
                    spans: spans.into_iter().map(convert_span).collect(),
                })
                .collect(),
        })
        .collect();
    Ok(ExportTraceServiceRequest { resource_spans })
}

fn convert_span(s: PySpan) -> Span {
    let PySpan(
        trace_id,
        span_id,
        parent,
        parent_is_remote,
        trace_flags,
        trace_state,
        name,
        kind,
        start,
        end,
        attrs,
        dropped_attrs,
        events,
        dropped_events,
        links,
        dropped_links,
        status_code,
        description,
    ) = s;
    Span {
        trace_id: trace_id.0,
        span_id: span_id.0,
        trace_state,
        parent_span_id: parent.map(|p| p.0).unwrap_or_default(),
        flags: flags(trace_flags, parent_is_remote),
        name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: attrs.unwrap_or_default().into_key_values(),
        dropped_attributes_count: dropped_attrs,
        events: events
            .unwrap_or_default()
            .into_iter()
            .map(|PyEvent(name, time, attrs, dropped)| span::Event {
                time_unix_nano: time,
                name,
                attributes: attrs.unwrap_or_default().into_key_values(),
                dropped_attributes_count: dropped,
            })
            .collect(),
        dropped_events_count: dropped_events,
        links: links
            .unwrap_or_default()
            .into_iter()
            .map(|PyLink(trace_id, span_id, trace_flags, is_remote, trace_state, attrs, dropped)| span::Link {
                trace_id: trace_id.0,
                span_id: span_id.0,
                trace_state,
                attributes: attrs.unwrap_or_default().into_key_values(),
                dropped_attributes_count: dropped,
                flags: flags(trace_flags, is_remote),
            })
            .collect(),
        dropped_links_count: dropped_links,
        status: Some(Status {
            message: if status_code == status::StatusCode::Error as i32 {
                description.unwrap_or_default()
            } else {
                String::new()
            },
            code: status_code,
        }),
    }
}

/// A metric: its points are decoded straight into the layout its `kind` names (no generic value
/// tree in between, which would also lose the order of their attribute dicts).
#[derive(Debug)]
struct PyMetric {
    name: String,
    description: String,
    unit: String,
    temporality: i32,
    is_monotonic: bool,
    points: Points,
}

#[derive(Debug)]
enum Points {
    Gauge(Vec<PyNumberPoint>),
    Sum(Vec<PyNumberPoint>),
    Histogram(Vec<PyHistogramPoint>),
    ExponentialHistogram(Vec<PyExpHistogramPoint>),
}

impl<'de> Deserialize<'de> for PyMetric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PyMetric;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metric (name, description, unit, kind, temporality, is_monotonic, points)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyMetric, A::Error> {
                fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
                    seq: &mut A,
                    i: usize,
                    what: &str,
                ) -> Result<T, A::Error> {
                    seq.next_element()?
                        .ok_or_else(|| de::Error::custom(format!("metric tuple ends before {what} (element {i})")))
                }
                let name: String = next(&mut seq, 0, "its name")?;
                let description = next(&mut seq, 1, "description")?;
                let unit = next(&mut seq, 2, "unit")?;
                let kind: String = next(&mut seq, 3, "kind")?;
                let temporality = next(&mut seq, 4, "aggregation_temporality")?;
                let is_monotonic = next(&mut seq, 5, "is_monotonic")?;
                let bad = |e: A::Error| de::Error::custom(format!("malformed data point of metric {name:?}: {e}"));
                let points = match kind.as_str() {
                    "gauge" => Points::Gauge(next(&mut seq, 6, "points").map_err(bad)?),
                    "sum" => Points::Sum(next(&mut seq, 6, "points").map_err(bad)?),
                    "histogram" => Points::Histogram(next(&mut seq, 6, "points").map_err(bad)?),
                    "exponential_histogram" => Points::ExponentialHistogram(next(&mut seq, 6, "points").map_err(bad)?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "metric {name:?} has unknown kind {other:?} (expected gauge, sum, histogram or exponential_histogram)"
                        )))
                    }
                };
                Ok(PyMetric { name, description, unit, temporality, is_monotonic, points })
            }
        }
        d.deserialize_tuple(7, V)
    }
}

#[derive(Debug, Deserialize)]
struct PyExemplar(Attrs, u64, PyNumber, Option<SpanId>, Option<TraceId>);

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum PyNumber {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Deserialize)]
struct PyNumberPoint(Attrs, u64, u64, PyNumber, Option<Vec<PyExemplar>>, u32);

#[derive(Debug, Deserialize)]
struct PyHistogramPoint(
    Attrs,
    u64,
    u64,
    u64,
    Option<f64>,
    Vec<u64>,
    Vec<f64>,
    Option<f64>,
    Option<f64>,
    Option<Vec<PyExemplar>>,
    u32,
);

#[derive(Debug, Deserialize)]
struct PyExpHistogramPoint(
    Attrs,
    u64,
    u64,
    u64,
    Option<f64>,
    i32,
    u64,
    f64,
    Option<(i32, Vec<u64>)>,
    Option<(i32, Vec<u64>)>,
    Option<f64>,
    Option<f64>,
    Option<Vec<PyExemplar>>,
    u32,
);

fn exemplars(list: Option<Vec<PyExemplar>>) -> Vec<m::Exemplar> {
    list.unwrap_or_default()
        .into_iter()
        .map(|PyExemplar(attrs, time, value, span_id, trace_id)| m::Exemplar {
            filtered_attributes: attrs.into_key_values(),
            time_unix_nano: time,
            span_id: span_id.map(|i| i.0).unwrap_or_default(),
            trace_id: trace_id.map(|i| i.0).unwrap_or_default(),
            value: Some(match value {
                PyNumber::Int(i) => m::exemplar::Value::AsInt(i),
                PyNumber::Float(f) => m::exemplar::Value::AsDouble(f),
            }),
        })
        .collect()
}

fn number(p: PyNumberPoint) -> m::NumberDataPoint {
    m::NumberDataPoint {
        attributes: p.0.into_key_values(),
        start_time_unix_nano: p.1,
        time_unix_nano: p.2,
        value: Some(match p.3 {
            PyNumber::Int(i) => m::number_data_point::Value::AsInt(i),
            PyNumber::Float(f) => m::number_data_point::Value::AsDouble(f),
        }),
        exemplars: exemplars(p.4),
        flags: p.5,
    }
}

fn convert_metric(metric: PyMetric) -> m::Metric {
    let PyMetric { name, description, unit, temporality, is_monotonic, points } = metric;
    let data = match points {
        Points::Gauge(points) => {
            m::metric::Data::Gauge(m::Gauge { data_points: points.into_iter().map(number).collect() })
        }
        Points::Sum(points) => m::metric::Data::Sum(m::Sum {
            data_points: points.into_iter().map(number).collect(),
            aggregation_temporality: temporality,
            is_monotonic,
        }),
        Points::Histogram(points) => m::metric::Data::Histogram(m::Histogram {
            data_points: points
                .into_iter()
                .map(|p| m::HistogramDataPoint {
                    attributes: p.0.into_key_values(),
                    start_time_unix_nano: p.1,
                    time_unix_nano: p.2,
                    count: p.3,
                    sum: p.4,
                    bucket_counts: p.5,
                    explicit_bounds: p.6,
                    min: p.7,
                    max: p.8,
                    exemplars: exemplars(p.9),
                    flags: p.10,
                })
                .collect(),
            aggregation_temporality: temporality,
        }),
        Points::ExponentialHistogram(points) => m::metric::Data::ExponentialHistogram(m::ExponentialHistogram {
            data_points: points
                .into_iter()
                .map(|p| {
                    let buckets = |b: Option<(i32, Vec<u64>)>| {
                        b.map(|(offset, bucket_counts)| m::exponential_histogram_data_point::Buckets {
                            offset,
                            bucket_counts,
                        })
                    };
                    m::ExponentialHistogramDataPoint {
                        attributes: p.0.into_key_values(),
                        start_time_unix_nano: p.1,
                        time_unix_nano: p.2,
                        count: p.3,
                        sum: p.4,
                        scale: p.5,
                        zero_count: p.6,
                        zero_threshold: p.7,
                        positive: buckets(p.8),
                        negative: buckets(p.9),
                        min: p.10,
                        max: p.11,
                        exemplars: exemplars(p.12),
                        flags: p.13,
                    }
                })
                .collect(),
            aggregation_temporality: temporality,
        }),
    };
    m::Metric { name, description, unit, metadata: vec![], data: Some(data) }
}

/// Decodes a metrics batch into the OTLP request it stands for.
pub(crate) fn metrics(bytes: &[u8]) -> Result<ExportMetricsServiceRequest, String> {
    let groups: Vec<ResourceGroup<PyMetric>> = decode("metrics", bytes)?;
    let mut resource_metrics = Vec::with_capacity(groups.len());
    for ResourceGroup(attrs, schema_url, dropped, scopes) in groups {
        let mut scope_metrics = Vec::with_capacity(scopes.len());
        for ScopeGroup(name, version, scope_schema_url, scope_attrs, metrics) in scopes {
            scope_metrics.push(m::ScopeMetrics {
                scope: scope(name, version, scope_attrs),
                schema_url: scope_schema_url.unwrap_or_default(),
                metrics: metrics.into_iter().map(convert_metric).collect(),
            });
        }
        resource_metrics.push(m::ResourceMetrics {
            resource: resource(attrs, dropped),
            schema_url: schema_url.unwrap_or_default(),
            scope_metrics,
        });
    }
    Ok(ExportMetricsServiceRequest { resource_metrics })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_pickle::{HashableValue as H, Value as V};

    fn pickle(v: V) -> Vec<u8> {
        serde_pickle::value_to_vec(&v, serde_pickle::SerOptions::new()).expect("pickle")
    }

    fn dict(entries: Vec<(&str, V)>) -> V {
        V::Dict(entries.into_iter().map(|(k, v)| (H::String(k.into()), v)).collect())
    }

    fn batch(items: Vec<V>) -> V {
        let scope =
            V::Tuple(vec![V::String("scope".into()), V::String("1.0".into()), V::None, V::None, V::List(items)]);
        versioned(
            BATCH_FORMAT_VERSION.into(),
            V::List(vec![V::Tuple(vec![
                dict(vec![("service.name", V::String("svc".into())), ("a.first", V::I64(1))]),
                V::String("https://schema".into()),
                V::I64(0),
                V::List(vec![scope]),
            ])]),
        )
    }

    fn versioned(version: i64, groups: V) -> V {
        V::Tuple(vec![V::I64(version), groups])
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let err = traces(&pickle(versioned(2, V::List(vec![])))).unwrap_err();
        assert!(err.contains("batch format version 2") && err.contains("reads version 1"), "{err}");
        let err = metrics(&pickle(V::List(vec![]))).unwrap_err();
        assert!(err.contains("empty batch"), "{err}");
        let unversioned = V::List(vec![V::Tuple(vec![dict(vec![]), V::None, V::I64(0), V::List(vec![])])]);
        let err = traces(&pickle(unversioned)).unwrap_err();
        assert!(err.contains("the batch format version (an int) as the first element"), "{err}");
        assert_eq!(traces(&pickle(versioned(1, V::List(vec![])))).unwrap().resource_spans.len(), 0);
    }

    /// `depth` lists nested in one another, pickled by hand (EMPTY_LIST ... APPEND ...).
    fn nested_lists(depth: usize) -> Vec<u8> {
        let mut bytes = vec![0x80, 5];
        bytes.extend(std::iter::repeat_n(b']', depth));
        bytes.extend(std::iter::repeat_n(b'a', depth - 1));
        bytes.push(b'.');
        bytes
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        for depth in [crate::scan::MAX_PICKLE_DEPTH as usize + 1, 10_000, 100_000, 1_000_000] {
            let err = traces(&nested_lists(depth)).unwrap_err();
            assert!(err.contains("deeper than"), "{depth}: {err}");
        }
        assert!(crate::scan::check(&nested_lists(crate::scan::MAX_PICKLE_DEPTH as usize)).is_ok());
    }

    #[test]
    fn memo_references_cannot_hide_nesting() {
        // 100 memoized empty lists, then list i appended into list i - 1 through memo references:
        // each append changes a list already put into another one, which the scan refuses.
        let mut bytes = vec![0x80, 4];
        for _ in 0..100 {
            bytes.extend([b']', 0x94, b'0']);
        }
        for i in 1..100u8 {
            bytes.extend([b'h', i - 1, b'h', i, b'a', b'0']);
        }
        bytes.extend([b'h', 0, b'.']);
        let err = crate::scan::check(&bytes).unwrap_err();
        assert!(err.contains("changes a container after putting it into another"), "{err}");
        assert!(crate::scan::check(b"\x80\x04c__builtin__\nset\n)\x85R.").unwrap_err().contains("not plain data"));
    }

    fn span(trace_id: V) -> V {
        V::Tuple(vec![
            trace_id,
            V::Bytes(vec![2; 8]),
            V::Bytes(vec![3; 8]),
            V::Bool(true),
            V::I64(1),
            V::String("k=v".into()),
            V::String("op".into()),
            V::I64(2),
            V::I64(10),
            V::I64(25),
            dict(vec![("f", V::F64(1.5)), ("i", V::I64(-4)), ("b", V::Bool(true)), ("l", V::List(vec![V::I64(1)]))]),
            V::I64(3),
            V::List(vec![V::Tuple(vec![V::String("ev".into()), V::I64(12), V::None, V::I64(0)])]),
            V::I64(0),
            V::None,
            V::I64(1),
            V::I64(2),
            V::String("boom".into()),
        ])
    }

    #[test]
    fn span_batch_becomes_the_otlp_request() {
        let request = traces(&pickle(batch(vec![span(V::Bytes(vec![1; 16]))]))).expect("valid batch");
        let rs = &request.resource_spans[0];
        let keys: Vec<_> = rs.resource.as_ref().unwrap().attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["a.first", "service.name"], "SDK resources are stored sorted");
        assert_eq!(rs.schema_url, "https://schema");
        let ss = &rs.scope_spans[0];
        assert_eq!(ss.scope.as_ref().unwrap().version, "1.0");
        let s = &ss.spans[0];
        assert_eq!(s.trace_id, vec![1; 16]);
        assert_eq!(s.parent_span_id, vec![3; 8]);
        assert_eq!(s.flags, 0x301, "sampled | has-is-remote | is-remote");
        assert_eq!((s.kind, s.start_time_unix_nano, s.end_time_unix_nano), (2, 10, 25));
        // (`Value::Dict` is a BTreeMap, so this dict was pickled in key order; Python dicts keep theirs.)
        assert_eq!(s.attributes.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(), ["b", "f", "i", "l"]);
        assert_eq!(s.attributes[2].value.as_ref().unwrap().value, Some(any_value::Value::IntValue(-4)));
        assert_eq!(s.events[0].name, "ev");
        assert_eq!((s.dropped_attributes_count, s.dropped_links_count), (3, 1));
        assert_eq!(s.status.as_ref().unwrap().message, "boom");
    }

    #[test]
    fn a_wrong_type_is_a_decode_error_naming_it() {
        let err = traces(&pickle(batch(vec![span(V::String("not bytes".into()))]))).unwrap_err();
        assert!(err.contains("malformed span batch"), "{err}");
        assert!(err.contains("an ID of 16 bytes"), "{err}");
        let err = traces(&pickle(batch(vec![span(V::Bytes(vec![1; 3]))]))).unwrap_err();
        assert!(err.contains("got 3 bytes"), "{err}");
        assert!(traces(b"\x80\x05garbage").is_err());
        assert!(metrics(b"").is_err());
    }

    #[test]
    fn metric_batch_kinds_become_otlp_data() {
        let number = V::Tuple(vec![dict(vec![]), V::I64(1), V::I64(2), V::I64(7), V::None, V::I64(0)]);
        let histogram = V::Tuple(vec![
            dict(vec![]),
            V::I64(1),
            V::I64(2),
            V::I64(3),
            V::F64(4.5),
            V::List(vec![V::I64(1), V::I64(2)]),
            V::List(vec![V::F64(1.0)]),
            V::None,
            V::F64(3.0),
            V::None,
            V::I64(0),
        ]);
        let metric = |kind: &str, point: V| {
            V::Tuple(vec![
                V::String(kind.into()),
                V::String(String::new()),
                V::String("1".into()),
                V::String(kind.into()),
                V::I64(1),
                V::Bool(true),
                V::List(vec![point]),
            ])
        };
        let request = metrics(&pickle(batch(vec![metric("sum", number.clone()), metric("histogram", histogram)])))
            .expect("valid batch");
        let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
        match &metrics[0].data {
            Some(m::metric::Data::Sum(s)) => {
                assert!(s.is_monotonic);
                assert_eq!(s.aggregation_temporality, 1);
                assert_eq!(s.data_points[0].value, Some(m::number_data_point::Value::AsInt(7)));
            }
            other => panic!("{other:?}"),
        }
        match &metrics[1].data {
            Some(m::metric::Data::Histogram(h)) => {
                let p = &h.data_points[0];
                assert_eq!((p.count, p.sum, p.min, p.max), (3, Some(4.5), None, Some(3.0)));
            }
            other => panic!("{other:?}"),
        }
        let err = metrics_err(&pickle(batch(vec![metric("summary", number)])));
        assert!(err.contains("unknown kind \"summary\""), "{err}");
    }

    fn metrics_err(bytes: &[u8]) -> String {
        metrics(bytes).unwrap_err()
    }
}
