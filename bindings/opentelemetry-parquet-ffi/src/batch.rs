//! The batch format the Python exporters send: plain Python values (tuples, lists, dicts, str,
//! int, float, bool, bytes, None) pickled with protocol 4 or 5, laid out as `BATCH_FORMAT.md`
//! (next to this crate's Cargo.toml) defines: the one definition of the layout, which the Python
//! encoder (`opentelemetry.exporter.parquet._encoding`) writes and this module reads. Every batch
//! starts with its format version ([`BATCH_FORMAT_VERSION`]); another version is a `Decode` error
//! saying so. Building such values from the Python SDK's objects and pickling them (in C) costs a
//! few microseconds per span, a fraction of building OTLP protobuf messages in Python.
//!
//! [`crate::pickle`] runs the pickle into a tree that borrows its strings and bytes from the batch
//! (bounding its nesting and size on the way); this module walks that tree once against the
//! layout (a wrong shape or type is a `Decode` error naming what was wrong and where, and
//! nothing is stored) and builds the OTLP request the Rust exporters would produce for the same
//! telemetry, each string copied once, into the request.
// `KeyValue { .., ..Default::default() }`: opentelemetry-proto 0.32's KeyValue has a field
// (`key_strindex`) that 0.31's lacks, so the update is needed with one and not the other.
#![allow(clippy::needless_update)]

use opentelemetry_parquet::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_parquet::proto::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_parquet::proto::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_parquet::proto::metrics::v1 as m;
use opentelemetry_parquet::proto::resource::v1::Resource;
use opentelemetry_parquet::proto::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};

use crate::pickle::{Id, Items, Pickle, Value};

/// The version of the batch layout (BATCH_FORMAT.md) this build reads: the first element of
/// every batch.
pub(crate) const BATCH_FORMAT_VERSION: u32 = 1;

pub(crate) type Result<T> = std::result::Result<T, String>;

/// Prefixes an error with where it happened.
pub(crate) fn at(place: &'static str) -> impl Fn(String) -> String {
    move |e| format!("{place}: {e}")
}

/// How serde names an unexpected value (the messages read as they did with serde-pickle).
fn describe(value: Value<'_>) -> String {
    match value {
        Value::None => "None".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Int(i) => format!("integer `{i}`"),
        Value::UInt(u) => format!("integer `{u}`"),
        Value::BigInt => "integer too large for 64 bits".into(),
        Value::Float(f) => format!("floating point `{f}`"),
        Value::Str(s) if s.chars().count() > 80 => {
            format!("string {:?}...", s.chars().take(80).collect::<String>())
        }
        Value::Str(s) => format!("string {s:?}"),
        Value::Bytes(_) => "byte array".into(),
        Value::Tuple(_) | Value::List(_) => "sequence".into(),
        Value::Dict(_) => "map".into(),
    }
}

/// A number of a metric point or exemplar.
#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

/// Reads typed values out of a parsed batch.
pub(crate) struct Walk<'p, 'a> {
    p: &'p Pickle<'a>,
}

impl<'p, 'a> Walk<'p, 'a> {
    pub(crate) fn invalid(&self, id: Id, expected: &str) -> String {
        format!("invalid type: {}, expected {expected}", describe(self.p.get(id)))
    }

    /// The `N` elements of a tuple (or list) of exactly `N`.
    pub(crate) fn fields<const N: usize>(&self, id: Id, what: &str) -> Result<[Id; N]> {
        let items = self.p.seq(id).ok_or_else(|| self.invalid(id, what))?;
        if items.len() != N {
            return Err(format!("invalid length {}, expected {what}", items.len()));
        }
        let mut out = [0; N];
        for (slot, item) in out.iter_mut().zip(items) {
            *slot = item;
        }
        Ok(out)
    }

    /// A list (or tuple).
    pub(crate) fn seq(&self, id: Id, what: &str) -> Result<Items<'p>> {
        self.p.seq(id).ok_or_else(|| self.invalid(id, &format!("a sequence of {what}")))
    }

    fn opt_seq(&self, id: Id, what: &str) -> Result<Option<Items<'p>>> {
        match self.p.get(id) {
            Value::None => Ok(None),
            _ => self.seq(id, what).map(Some),
        }
    }

    pub(crate) fn str(&self, id: Id) -> Result<&'a str> {
        match self.p.get(id) {
            Value::Str(s) => Ok(s),
            _ => Err(self.invalid(id, "a string")),
        }
    }

    pub(crate) fn opt_str(&self, id: Id) -> Result<Option<&'a str>> {
        match self.p.get(id) {
            Value::None => Ok(None),
            _ => self.str(id).map(Some),
        }
    }

    fn bool(&self, id: Id) -> Result<bool> {
        match self.p.get(id) {
            Value::Bool(b) => Ok(b),
            _ => Err(self.invalid(id, "a boolean")),
        }
    }

    fn int<T: TryFrom<i64> + TryFrom<u64>>(&self, id: Id, name: &str) -> Result<T> {
        let out = match self.p.get(id) {
            Value::Int(i) => T::try_from(i).ok(),
            Value::UInt(u) => T::try_from(u).ok(),
            _ => return Err(self.invalid(id, name)),
        };
        out.ok_or_else(|| format!("invalid value: {}, expected {name}", describe(self.p.get(id))))
    }

    pub(crate) fn u64(&self, id: Id) -> Result<u64> {
        self.int(id, "u64")
    }

    pub(crate) fn u32(&self, id: Id) -> Result<u32> {
        self.int(id, "u32")
    }

    pub(crate) fn i32(&self, id: Id) -> Result<i32> {
        self.int(id, "i32")
    }

    /// A float; an int is taken as its float (as serde does).
    fn f64(&self, id: Id) -> Result<f64> {
        match self.p.get(id) {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            Value::UInt(u) => Ok(u as f64),
            _ => Err(self.invalid(id, "f64")),
        }
    }

    fn opt_f64(&self, id: Id) -> Result<Option<f64>> {
        match self.p.get(id) {
            Value::None => Ok(None),
            _ => self.f64(id).map(Some),
        }
    }

    fn number(&self, id: Id) -> Result<Number> {
        match self.p.get(id) {
            Value::Int(i) => Ok(Number::Int(i)),
            Value::Float(f) => Ok(Number::Float(f)),
            _ => Err(self.invalid(id, "a number (int of 64 bits or float)")),
        }
    }

    /// A trace (16 bytes) or span (8 bytes) ID: `bytes` of exactly that length, nothing else.
    fn id<const N: usize>(&self, id: Id) -> Result<Vec<u8>> {
        match self.p.get(id) {
            Value::Bytes(b) if b.len() == N => Ok(b.to_vec()),
            Value::Bytes(b) => Err(format!("an ID of {N} bytes, got {} bytes", b.len())),
            _ => Err(self.invalid(id, &format!("an ID of {N} bytes"))),
        }
    }

    pub(crate) fn opt_id<const N: usize>(&self, id: Id) -> Result<Option<Vec<u8>>> {
        match self.p.get(id) {
            Value::None => Ok(None),
            _ => self.id::<N>(id).map(Some),
        }
    }

    /// An attribute dict (or None), in its order.
    pub(crate) fn attrs(&self, id: Id) -> Result<Vec<KeyValue>> {
        match self.p.get(id) {
            Value::None => Ok(Vec::new()),
            _ => {
                let items = self.p.dict(id).ok_or_else(|| self.invalid(id, "an attribute dict (str keys)"))?;
                self.key_values(items, "attribute")
            }
        }
    }

    /// The entries of a dict in its order: str keys, each value read by [`value`](Self::value);
    /// `entry` names an entry in an error (`attribute "k": ...`).
    fn key_values(&self, mut items: Items<'_>, entry: &str) -> Result<Vec<KeyValue>> {
        let mut out = Vec::with_capacity(items.len() / 2);
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            let key = self.str(key)?;
            let value = self.value(value).map_err(|e| format!("{entry} {key:?}: {e}"))?;
            out.push(KeyValue { key: key.to_owned(), value: Some(value), ..Default::default() });
        }
        Ok(out)
    }

    /// An attribute value (or a log body): str, bool, int, float, bytes, None, a list of values,
    /// or a dict of values with str keys (OTLP's key-value list, in the dict's order; what SDK
    /// 1.39+ attributes and log bodies hold). The nesting is bounded by the pickle reader
    /// ([`crate::pickle::MAX_PICKLE_DEPTH`]), then exactly by the core.
    pub(crate) fn value(&self, id: Id) -> Result<AnyValue> {
        use any_value::Value as V;
        let value = match self.p.get(id) {
            Value::Str(s) => Some(V::StringValue(s.to_owned())),
            Value::Bool(b) => Some(V::BoolValue(b)),
            Value::Int(i) => Some(V::IntValue(i)),
            Value::Float(f) => Some(V::DoubleValue(f)),
            Value::Bytes(b) => Some(V::BytesValue(b.to_vec())),
            Value::None => None,
            Value::Tuple(_) | Value::List(_) => {
                let items = self.p.seq(id).expect("a sequence");
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.value(item)?);
                }
                Some(V::ArrayValue(ArrayValue { values }))
            }
            Value::UInt(_) | Value::BigInt => {
                return Err(format!("invalid value: {} (an attribute int is signed 64-bit)", describe(self.p.get(id))))
            }
            Value::Dict(_) => {
                let items = self.p.dict(id).ok_or_else(|| self.invalid(id, "a dict"))?;
                Some(V::KvlistValue(KeyValueList { values: self.key_values(items, "key")? }))
            }
        };
        Ok(AnyValue { value })
    }

    /// A value, or None for None (a log record's absent body).
    pub(crate) fn opt_value(&self, id: Id) -> Result<Option<AnyValue>> {
        match self.p.get(id) {
            Value::None => Ok(None),
            _ => self.value(id).map(Some),
        }
    }

    /// The resource groups of a batch: `(version, [resource_group, ...])`.
    fn batch(&self) -> Result<Items<'p>> {
        let root = self.p.root();
        let mut items =
            self.p.seq(root).ok_or_else(|| self.invalid(root, "a batch (format version, resource groups)"))?;
        let version = items.next().ok_or("empty batch")?;
        let version = match self.p.get(version) {
            Value::Int(v) => i128::from(v),
            Value::UInt(v) => i128::from(v),
            _ => {
                return Err(self.invalid(
                    version,
                    "the batch format version (an int) as the first element of the batch; a batch without one \
                     comes from an opentelemetry-exporter-parquet older than this opentelemetry-parquet",
                ))
            }
        };
        if version != i128::from(BATCH_FORMAT_VERSION) {
            return Err(format!(
                "batch format version {version}, but this opentelemetry-parquet reads version \
                 {BATCH_FORMAT_VERSION} (BATCH_FORMAT.md): install opentelemetry-parquet and \
                 opentelemetry-exporter-parquet releases made for each other"
            ));
        }
        let groups = items.next().ok_or("batch ends after its version")?;
        if items.next().is_some() {
            return Err("batch has more than (version, resource groups)".into());
        }
        self.seq(groups, "resource groups")
    }

    /// `(attributes, schema_url, dropped_attributes, [scope_group, ...])`.
    fn resource_group(&self, id: Id) -> Result<(Option<Resource>, String, Items<'p>)> {
        let [attrs, schema_url, dropped, scopes] =
            self.fields(id, "a resource group (a tuple of 4 elements, BATCH_FORMAT.md)")?;
        let mut attributes = self.attrs(attrs).map_err(at("resource attributes"))?;
        attributes.sort_by(|a, b| a.key.cmp(&b.key));
        let resource = Resource {
            attributes,
            dropped_attributes_count: self.u32(dropped).map_err(at("resource dropped_attributes"))?,
            entity_refs: vec![],
        };
        let schema_url = self.opt_str(schema_url).map_err(at("resource schema_url"))?.unwrap_or_default().to_owned();
        Ok((Some(resource), schema_url, self.seq(scopes, "scope groups")?))
    }

    /// `(name, version, schema_url, attributes, [item, ...])`; `items` names what the items are.
    fn scope_group(&self, id: Id, items: &str) -> Result<(Option<InstrumentationScope>, String, Items<'p>)> {
        let [name, version, schema_url, attrs, items_id] =
            self.fields(id, "a scope group (a tuple of 5 elements, BATCH_FORMAT.md)")?;
        let scope = InstrumentationScope {
            name: self.str(name).map_err(at("scope name"))?.to_owned(),
            version: self.opt_str(version).map_err(at("scope version"))?.unwrap_or_default().to_owned(),
            attributes: self.attrs(attrs).map_err(at("scope attributes"))?,
            dropped_attributes_count: 0,
        };
        let schema_url = self.opt_str(schema_url).map_err(at("scope schema_url"))?.unwrap_or_default().to_owned();
        Ok((Some(scope), schema_url, self.seq(items_id, items)?))
    }

    /// The resource groups of a batch whose items are `item`s (`"span"`, ...): each item read by
    /// `read`, the items of a scope group made one `S` by `scope`, the scopes of a resource group
    /// one `R` by `resource`. An error names the resource group, scope group and item it is in.
    pub(crate) fn groups<I, S, R>(
        &self,
        item: &str,
        read: impl Fn(&Self, Id) -> Result<I>,
        scope: impl Fn(Option<InstrumentationScope>, String, Vec<I>) -> S,
        resource: impl Fn(Option<Resource>, String, Vec<S>) -> R,
    ) -> Result<Vec<R>> {
        let plural = format!("{item}s");
        let groups = self.batch()?;
        let mut out = Vec::with_capacity(groups.len());
        for (g, group) in groups.enumerate() {
            let (res, res_schema_url, scopes) =
                self.resource_group(group).map_err(|e| format!("resource group {g}: {e}"))?;
            let mut scoped = Vec::with_capacity(scopes.len());
            for (s, group) in scopes.enumerate() {
                let in_scope = |e: String| format!("resource group {g}, scope group {s}: {e}");
                let (scope_info, scope_schema_url, items) = self.scope_group(group, &plural).map_err(in_scope)?;
                let mut read_items = Vec::with_capacity(items.len());
                for (i, id) in items.enumerate() {
                    read_items.push(
                        read(self, id).map_err(|e| format!("resource group {g}, scope group {s}, {item} {i}: {e}"))?,
                    );
                }
                scoped.push(scope(scope_info, scope_schema_url, read_items));
            }
            out.push(resource(res, res_schema_url, scoped));
        }
        Ok(out)
    }
}

fn flags(trace_flags: u32, is_remote: bool) -> u32 {
    (trace_flags & 0xff) | 0x100 | if is_remote { 0x200 } else { 0 }
}

/// Parses and walks a batch; the error is text naming the format.
pub(crate) fn decode<T>(what: &str, bytes: &[u8], walk: impl FnOnce(&Walk<'_, '_>) -> Result<T>) -> Result<T> {
    let malformed = |e: String| {
        format!("malformed {what} batch (expected the opentelemetry-parquet batch format, BATCH_FORMAT.md): {e}")
    };
    let pickle = Pickle::parse(bytes).map_err(malformed)?;
    walk(&Walk { p: &pickle }).map_err(malformed)
}

/// Decodes a span batch into the OTLP request it stands for.
pub(crate) fn traces(bytes: &[u8]) -> Result<ExportTraceServiceRequest> {
    decode("span", bytes, |w| {
        let resource_spans = w.groups(
            "span",
            Walk::span,
            |scope, schema_url, spans| ScopeSpans { scope, schema_url, spans },
            |resource, schema_url, scope_spans| ResourceSpans { resource, schema_url, scope_spans },
        )?;
        Ok(ExportTraceServiceRequest { resource_spans })
    })
}

impl Walk<'_, '_> {
    fn span(&self, id: Id) -> Result<Span> {
        let [trace_id, span_id, parent, parent_is_remote, trace_flags, trace_state, name, kind, start, end, attrs, dropped_attrs, events, dropped_events, links, dropped_links, status_code, description] =
            self.fields(id, "a span (a tuple of 18 elements, BATCH_FORMAT.md)")?;
        let status_code = self.i32(status_code).map_err(at("status_code"))?;
        let description = self.opt_str(description).map_err(at("status_description"))?;
        let events = match self.opt_seq(events, "events").map_err(at("events"))? {
            None => Vec::new(),
            Some(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.event(item).map_err(at("event"))?);
                }
                out
            }
        };
        let links = match self.opt_seq(links, "links").map_err(at("links"))? {
            None => Vec::new(),
            Some(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.link(item).map_err(at("link"))?);
                }
                out
            }
        };
        Ok(Span {
            trace_id: self.id::<16>(trace_id).map_err(at("trace_id"))?,
            span_id: self.id::<8>(span_id).map_err(at("span_id"))?,
            trace_state: self.str(trace_state).map_err(at("trace_state"))?.to_owned(),
            parent_span_id: self.opt_id::<8>(parent).map_err(at("parent_span_id"))?.unwrap_or_default(),
            flags: flags(
                self.u32(trace_flags).map_err(at("trace_flags"))?,
                self.bool(parent_is_remote).map_err(at("parent_is_remote"))?,
            ),
            name: self.str(name).map_err(at("name"))?.to_owned(),
            kind: self.i32(kind).map_err(at("kind"))?,
            start_time_unix_nano: self.u64(start).map_err(at("start_time_unix_nano"))?,
            end_time_unix_nano: self.u64(end).map_err(at("end_time_unix_nano"))?,
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            dropped_attributes_count: self.u32(dropped_attrs).map_err(at("dropped_attributes"))?,
            events,
            dropped_events_count: self.u32(dropped_events).map_err(at("dropped_events"))?,
            links,
            dropped_links_count: self.u32(dropped_links).map_err(at("dropped_links"))?,
            status: Some(Status {
                message: if status_code == status::StatusCode::Error as i32 {
                    description.unwrap_or_default().to_owned()
                } else {
                    String::new()
                },
                code: status_code,
            }),
        })
    }

    /// `(name, time_unix_nano, attributes, dropped_attributes)`.
    fn event(&self, id: Id) -> Result<span::Event> {
        let [name, time, attrs, dropped] = self.fields(id, "an event (a tuple of 4 elements, BATCH_FORMAT.md)")?;
        Ok(span::Event {
            name: self.str(name).map_err(at("name"))?.to_owned(),
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            dropped_attributes_count: self.u32(dropped).map_err(at("dropped_attributes"))?,
        })
    }

    /// `(trace_id, span_id, trace_flags, is_remote, trace_state, attributes, dropped_attributes)`.
    fn link(&self, id: Id) -> Result<span::Link> {
        let [trace_id, span_id, trace_flags, is_remote, trace_state, attrs, dropped] =
            self.fields(id, "a link (a tuple of 7 elements, BATCH_FORMAT.md)")?;
        Ok(span::Link {
            trace_id: self.id::<16>(trace_id).map_err(at("trace_id"))?,
            span_id: self.id::<8>(span_id).map_err(at("span_id"))?,
            flags: flags(
                self.u32(trace_flags).map_err(at("trace_flags"))?,
                self.bool(is_remote).map_err(at("is_remote"))?,
            ),
            trace_state: self.str(trace_state).map_err(at("trace_state"))?.to_owned(),
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            dropped_attributes_count: self.u32(dropped).map_err(at("dropped_attributes"))?,
        })
    }
}

/// Decodes a metrics batch into the OTLP request it stands for.
pub(crate) fn metrics(bytes: &[u8]) -> Result<ExportMetricsServiceRequest> {
    decode("metrics", bytes, |w| {
        let resource_metrics = w.groups(
            "metric",
            Walk::metric,
            |scope, schema_url, metrics| m::ScopeMetrics { scope, schema_url, metrics },
            |resource, schema_url, scope_metrics| m::ResourceMetrics { resource, schema_url, scope_metrics },
        )?;
        Ok(ExportMetricsServiceRequest { resource_metrics })
    })
}

impl Walk<'_, '_> {
    /// `(name, description, unit, kind, aggregation_temporality, is_monotonic, [point, ...])`: the
    /// points are read in the layout `kind` names.
    fn metric(&self, id: Id) -> Result<m::Metric> {
        const WHAT: &str = "a metric (name, description, unit, kind, temporality, is_monotonic, points)";
        let items = self.p.seq(id).ok_or_else(|| self.invalid(id, WHAT))?;
        let mut fields = [0; 7];
        let len = items.len();
        for (slot, item) in fields.iter_mut().zip(items) {
            *slot = item;
        }
        const NAMES: [&str; 7] =
            ["its name", "description", "unit", "kind", "aggregation_temporality", "is_monotonic", "points"];
        if len < 7 {
            return Err(format!("metric tuple ends before {} (element {len})", NAMES[len]));
        }
        if len > 7 {
            return Err(format!("invalid length {len}, expected {WHAT}"));
        }
        let [name, description, unit, kind, temporality, is_monotonic, points] = fields;
        let name = self.str(name).map_err(at("metric name"))?;
        let in_metric = |e: String| format!("metric {name:?}: {e}");
        let description = self.str(description).map_err(at("description")).map_err(in_metric)?;
        let unit = self.str(unit).map_err(at("unit")).map_err(in_metric)?;
        let kind = self.str(kind).map_err(at("kind")).map_err(in_metric)?;
        let temporality = self.i32(temporality).map_err(at("aggregation_temporality")).map_err(in_metric)?;
        let is_monotonic = self.bool(is_monotonic).map_err(at("is_monotonic")).map_err(in_metric)?;
        let bad = |e: String| format!("malformed data point of metric {name:?}: {e}");
        let points = self.seq(points, "data points").map_err(bad)?;
        let data = match kind {
            "gauge" => {
                m::metric::Data::Gauge(m::Gauge { data_points: self.all(points, Self::number_point).map_err(bad)? })
            }
            "sum" => m::metric::Data::Sum(m::Sum {
                data_points: self.all(points, Self::number_point).map_err(bad)?,
                aggregation_temporality: temporality,
                is_monotonic,
            }),
            "histogram" => m::metric::Data::Histogram(m::Histogram {
                data_points: self.all(points, Self::histogram_point).map_err(bad)?,
                aggregation_temporality: temporality,
            }),
            "exponential_histogram" => m::metric::Data::ExponentialHistogram(m::ExponentialHistogram {
                data_points: self.all(points, Self::exponential_histogram_point).map_err(bad)?,
                aggregation_temporality: temporality,
            }),
            other => {
                return Err(format!(
                "metric {name:?} has unknown kind {other:?} (expected gauge, sum, histogram or exponential_histogram)"
            ))
            }
        };
        Ok(m::Metric {
            name: name.to_owned(),
            description: description.to_owned(),
            unit: unit.to_owned(),
            metadata: vec![],
            data: Some(data),
        })
    }

    fn all<T>(&self, items: Items<'_>, each: impl Fn(&Self, Id) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(each(self, item)?);
        }
        Ok(out)
    }

    fn u64s(&self, id: Id) -> Result<Vec<u64>> {
        let items = self.seq(id, "u64")?;
        self.all(items, Self::u64)
    }

    fn exemplars(&self, id: Id) -> Result<Vec<m::Exemplar>> {
        match self.opt_seq(id, "exemplars").map_err(at("exemplars"))? {
            None => Ok(Vec::new()),
            Some(items) => self.all(items, Self::exemplar).map_err(at("exemplar")),
        }
    }

    /// `(filtered_attributes, time_unix_nano, value, span_id, trace_id)`.
    fn exemplar(&self, id: Id) -> Result<m::Exemplar> {
        let [attrs, time, value, span_id, trace_id] =
            self.fields(id, "an exemplar (a tuple of 5 elements, BATCH_FORMAT.md)")?;
        Ok(m::Exemplar {
            filtered_attributes: self.attrs(attrs).map_err(at("filtered_attributes"))?,
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            value: Some(match self.number(value).map_err(at("value"))? {
                Number::Int(i) => m::exemplar::Value::AsInt(i),
                Number::Float(f) => m::exemplar::Value::AsDouble(f),
            }),
            span_id: self.opt_id::<8>(span_id).map_err(at("span_id"))?.unwrap_or_default(),
            trace_id: self.opt_id::<16>(trace_id).map_err(at("trace_id"))?.unwrap_or_default(),
        })
    }

    /// `(attributes, start_time_unix_nano, time_unix_nano, value, exemplars, flags)`.
    fn number_point(&self, id: Id) -> Result<m::NumberDataPoint> {
        let [attrs, start, time, value, exemplars, flags] =
            self.fields(id, "a number data point (a tuple of 6 elements, BATCH_FORMAT.md)")?;
        Ok(m::NumberDataPoint {
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            start_time_unix_nano: self.u64(start).map_err(at("start_time_unix_nano"))?,
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            value: Some(match self.number(value).map_err(at("value"))? {
                Number::Int(i) => m::number_data_point::Value::AsInt(i),
                Number::Float(f) => m::number_data_point::Value::AsDouble(f),
            }),
            exemplars: self.exemplars(exemplars)?,
            flags: self.u32(flags).map_err(at("flags"))?,
        })
    }

    /// `(attributes, start, time, count, sum, bucket_counts, explicit_bounds, min, max, exemplars,
    /// flags)`.
    fn histogram_point(&self, id: Id) -> Result<m::HistogramDataPoint> {
        let [attrs, start, time, count, sum, bucket_counts, explicit_bounds, min, max, exemplars, flags] =
            self.fields(id, "a histogram data point (a tuple of 11 elements, BATCH_FORMAT.md)")?;
        let bounds = self.seq(explicit_bounds, "f64").map_err(at("explicit_bounds"))?;
        Ok(m::HistogramDataPoint {
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            start_time_unix_nano: self.u64(start).map_err(at("start_time_unix_nano"))?,
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            count: self.u64(count).map_err(at("count"))?,
            sum: self.opt_f64(sum).map_err(at("sum"))?,
            bucket_counts: self.u64s(bucket_counts).map_err(at("bucket_counts"))?,
            explicit_bounds: self.all(bounds, Self::f64).map_err(at("explicit_bounds"))?,
            min: self.opt_f64(min).map_err(at("min"))?,
            max: self.opt_f64(max).map_err(at("max"))?,
            exemplars: self.exemplars(exemplars)?,
            flags: self.u32(flags).map_err(at("flags"))?,
        })
    }

    /// `(offset, [count, ...])` or None.
    fn buckets(&self, id: Id) -> Result<Option<m::exponential_histogram_data_point::Buckets>> {
        if self.p.get(id) == Value::None {
            return Ok(None);
        }
        let [offset, counts] = self.fields(id, "buckets (offset, [count, ...])")?;
        Ok(Some(m::exponential_histogram_data_point::Buckets {
            offset: self.i32(offset)?,
            bucket_counts: self.u64s(counts)?,
        }))
    }

    /// `(attributes, start, time, count, sum, scale, zero_count, zero_threshold, positive,
    /// negative, min, max, exemplars, flags)`.
    fn exponential_histogram_point(&self, id: Id) -> Result<m::ExponentialHistogramDataPoint> {
        let [attrs, start, time, count, sum, scale, zero_count, zero_threshold, positive, negative, min, max, exemplars, flags] =
            self.fields(id, "an exponential histogram data point (a tuple of 14 elements, BATCH_FORMAT.md)")?;
        Ok(m::ExponentialHistogramDataPoint {
            attributes: self.attrs(attrs).map_err(at("attributes"))?,
            start_time_unix_nano: self.u64(start).map_err(at("start_time_unix_nano"))?,
            time_unix_nano: self.u64(time).map_err(at("time_unix_nano"))?,
            count: self.u64(count).map_err(at("count"))?,
            sum: self.opt_f64(sum).map_err(at("sum"))?,
            scale: self.i32(scale).map_err(at("scale"))?,
            zero_count: self.u64(zero_count).map_err(at("zero_count"))?,
            zero_threshold: self.f64(zero_threshold).map_err(at("zero_threshold"))?,
            positive: self.buckets(positive).map_err(at("positive"))?,
            negative: self.buckets(negative).map_err(at("negative"))?,
            min: self.opt_f64(min).map_err(at("min"))?,
            max: self.opt_f64(max).map_err(at("max"))?,
            exemplars: self.exemplars(exemplars)?,
            flags: self.u32(flags).map_err(at("flags"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::testing::{dict, dumps, s, P};
    use crate::pickle::MAX_PICKLE_DEPTH;

    fn batch(items: Vec<P>) -> P {
        let scope = P::Tuple(vec![s("scope"), s("1.0"), P::None, P::None, P::List(items)]);
        versioned(
            BATCH_FORMAT_VERSION.into(),
            P::List(vec![P::Tuple(vec![
                dict(vec![("service.name", s("svc")), ("a.first", P::Int(1))]),
                s("https://schema"),
                P::Int(0),
                P::List(vec![scope]),
            ])]),
        )
    }

    fn versioned(version: i128, groups: P) -> P {
        P::Tuple(vec![P::Int(version), groups])
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let err = traces(&dumps(&versioned(2, P::List(vec![])))).unwrap_err();
        assert!(err.contains("batch format version 2") && err.contains("reads version 1"), "{err}");
        let err = metrics(&dumps(&P::List(vec![]))).unwrap_err();
        assert!(err.contains("empty batch"), "{err}");
        let unversioned = P::List(vec![P::Tuple(vec![dict(vec![]), P::None, P::Int(0), P::List(vec![])])]);
        let err = traces(&dumps(&unversioned)).unwrap_err();
        assert!(err.contains("the batch format version (an int) as the first element"), "{err}");
        let err = traces(&dumps(&P::Tuple(vec![P::Int(1)]))).unwrap_err();
        assert!(err.contains("batch ends after its version"), "{err}");
        let err = traces(&dumps(&P::Tuple(vec![P::Int(1), P::List(vec![]), P::None]))).unwrap_err();
        assert!(err.contains("batch has more than (version, resource groups)"), "{err}");
        let err = traces(&dumps(&dict(vec![("spans", P::List(vec![]))]))).unwrap_err();
        assert!(err.contains("invalid type: map, expected a batch"), "{err}");
        assert_eq!(traces(&dumps(&versioned(1, P::List(vec![])))).unwrap().resource_spans.len(), 0);
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
        for depth in [MAX_PICKLE_DEPTH as usize + 1, 10_000, 100_000, 1_000_000] {
            let err = traces(&nested_lists(depth)).unwrap_err();
            assert!(err.contains("deeper than"), "{depth}: {err}");
            let err = metrics(&nested_lists(depth)).unwrap_err();
            assert!(err.contains("deeper than"), "{depth}: {err}");
        }
        let err = traces(&nested_lists(MAX_PICKLE_DEPTH as usize)).unwrap_err();
        assert!(err.contains("expected the batch format version"), "read, then refused by its shape: {err}");
    }

    #[test]
    fn a_deep_attribute_value_within_the_bound_is_decoded() {
        let mut value = s("leaf");
        for _ in 0..40 {
            value = P::List(vec![value]);
        }
        let mut with_value = span(P::Bytes(vec![1; 16]));
        if let P::Tuple(fields) = &mut with_value {
            fields[10] = dict(vec![("deep", value)]);
        }
        let request = traces(&dumps(&batch(vec![with_value]))).expect("within the bound");
        let mut any = request.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.clone().unwrap();
        let mut levels = 0;
        while let Some(any_value::Value::ArrayValue(a)) = any.value {
            any = a.values[0].clone();
            levels += 1;
        }
        assert_eq!((levels, any.value), (40, Some(any_value::Value::StringValue("leaf".into()))));
    }

    fn span(trace_id: P) -> P {
        P::Tuple(vec![
            trace_id,
            P::Bytes(vec![2; 8]),
            P::Bytes(vec![3; 8]),
            P::Bool(true),
            P::Int(1),
            s("k=v"),
            s("op"),
            P::Int(2),
            P::Int(10),
            P::Int(25),
            dict(vec![
                ("f", P::Float(1.5)),
                ("i", P::Int(-4)),
                ("b", P::Bool(true)),
                ("l", P::List(vec![P::Int(1)])),
                ("t", P::Tuple(vec![s("x"), P::Bytes(vec![0xff])])),
                ("n", P::None),
            ]),
            P::Int(3),
            P::List(vec![P::Tuple(vec![s("ev"), P::Int(12), P::None, P::Int(0)])]),
            P::Int(0),
            P::List(vec![P::Tuple(vec![
                P::Bytes(vec![4; 16]),
                P::Bytes(vec![5; 8]),
                P::Int(1),
                P::Bool(false),
                s(""),
                dict(vec![("link.k", s("v"))]),
                P::Int(2),
            ])]),
            P::Int(1),
            P::Int(2),
            s("boom"),
        ])
    }

    #[test]
    fn span_batch_becomes_the_otlp_request() {
        let request = traces(&dumps(&batch(vec![span(P::Bytes(vec![1; 16]))]))).expect("valid batch");
        let rs = &request.resource_spans[0];
        let keys: Vec<_> = rs.resource.as_ref().unwrap().attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["a.first", "service.name"], "SDK resources are stored sorted");
        assert_eq!(rs.schema_url, "https://schema");
        let ss = &rs.scope_spans[0];
        assert_eq!(ss.scope.as_ref().unwrap().version, "1.0");
        assert_eq!(ss.schema_url, "");
        let s = &ss.spans[0];
        assert_eq!(s.trace_id, vec![1; 16]);
        assert_eq!(s.parent_span_id, vec![3; 8]);
        assert_eq!(s.flags, 0x301, "sampled | has-is-remote | is-remote");
        assert_eq!((s.kind, s.start_time_unix_nano, s.end_time_unix_nano), (2, 10, 25));
        assert_eq!(s.trace_state, "k=v");
        assert_eq!(
            s.attributes.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
            ["f", "i", "b", "l", "t", "n"],
            "the dict's order"
        );
        use any_value::Value as V;
        let values: Vec<_> = s.attributes.iter().map(|kv| kv.value.clone().unwrap().value).collect();
        let array = |values: Vec<V>| {
            Some(V::ArrayValue(ArrayValue {
                values: values.into_iter().map(|v| AnyValue { value: Some(v) }).collect(),
            }))
        };
        assert_eq!(
            values,
            [
                Some(V::DoubleValue(1.5)),
                Some(V::IntValue(-4)),
                Some(V::BoolValue(true)),
                array(vec![V::IntValue(1)]),
                array(vec![V::StringValue("x".into()), V::BytesValue(vec![0xff])]),
                None,
            ]
        );
        assert_eq!((s.events[0].name.as_str(), s.events[0].time_unix_nano), ("ev", 12));
        let link = &s.links[0];
        assert_eq!((link.trace_id.clone(), link.span_id.clone(), link.flags), (vec![4; 16], vec![5; 8], 0x101));
        assert_eq!((link.attributes[0].key.as_str(), link.dropped_attributes_count), ("link.k", 2));
        assert_eq!((s.dropped_attributes_count, s.dropped_links_count), (3, 1));
        assert_eq!(s.status.as_ref().unwrap().message, "boom");
    }

    #[test]
    fn a_dict_attribute_value_is_a_key_value_list_in_its_order() {
        let mut with_map = span(P::Bytes(vec![1; 16]));
        if let P::Tuple(fields) = &mut with_map {
            fields[10] =
                dict(vec![("m", dict(vec![("z", P::Int(1)), ("a", P::List(vec![dict(vec![])])), ("n", P::None)]))]);
        }
        let request = traces(&dumps(&batch(vec![with_map]))).expect("SDK 1.39+ attributes may hold dicts");
        use any_value::Value as V;
        let value = request.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.clone().unwrap().value;
        let Some(V::KvlistValue(list)) = value else { panic!("{value:?}") };
        let entries: Vec<_> = list.values.iter().map(|kv| (kv.key.as_str(), kv.value.clone().unwrap().value)).collect();
        let empty = Some(V::KvlistValue(KeyValueList { values: vec![] }));
        let array = Some(V::ArrayValue(ArrayValue { values: vec![AnyValue { value: empty }] }));
        assert_eq!(entries, [("z", Some(V::IntValue(1))), ("a", array), ("n", None)]);
    }

    #[test]
    fn a_wrong_type_is_a_decode_error_naming_it() {
        let err = traces(&dumps(&batch(vec![span(s("not bytes"))]))).unwrap_err();
        assert!(err.contains("malformed span batch"), "{err}");
        assert!(
            err.contains(r#"span 0: trace_id: invalid type: string "not bytes", expected an ID of 16 bytes"#),
            "{err}"
        );
        let err = traces(&dumps(&batch(vec![span(P::Bytes(vec![1; 3]))]))).unwrap_err();
        assert!(err.contains("an ID of 16 bytes, got 3 bytes"), "{err}");
        assert!(traces(b"\x80\x05garbage").is_err());
        assert!(metrics(b"").is_err());
    }

    /// `span` with field `i` replaced by `value`: the error.
    fn with_field(i: usize, value: P) -> String {
        let mut changed = span(P::Bytes(vec![1; 16]));
        if let P::Tuple(fields) = &mut changed {
            fields[i] = value;
        }
        traces(&dumps(&batch(vec![changed]))).unwrap_err()
    }

    #[test]
    fn every_span_field_is_checked() {
        let cases = [
            (1, P::Bytes(vec![1; 16]), "span_id: an ID of 8 bytes, got 16 bytes"),
            (2, P::Int(0), "parent_span_id: invalid type: integer `0`, expected an ID of 8 bytes"),
            (3, P::Int(1), "parent_is_remote: invalid type: integer `1`, expected a boolean"),
            (4, P::Int(-1), "trace_flags: invalid value: integer `-1`, expected u32"),
            (5, P::None, "trace_state: invalid type: None, expected a string"),
            (6, P::Bytes(vec![]), "name: invalid type: byte array, expected a string"),
            (7, P::Int(1 << 40), "kind: invalid value: integer `1099511627776`, expected i32"),
            (
                8,
                s("2023-11-14T22:13:20Z"),
                r#"start_time_unix_nano: invalid type: string "2023-11-14T22:13:20Z", expected u64"#,
            ),
            (9, P::Float(1.0), "end_time_unix_nano: invalid type: floating point `1`, expected u64"),
            (10, P::List(vec![]), "attributes: invalid type: sequence, expected an attribute dict"),
            (10, P::Dict(vec![(P::Int(1), s("v"))]), "attributes: invalid type: integer `1`, expected a string"),
            (
                10,
                dict(vec![("k", P::Dict(vec![(P::Bytes(vec![]), s("v"))]))]),
                r#"attributes: attribute "k": invalid type: byte array, expected a string"#,
            ),
            (10, dict(vec![("k", dict(vec![("x", P::Int(1 << 64))]))]), r#"attribute "k": key "x": invalid value"#),
            (10, dict(vec![("k", P::Int(1 << 64))]), "integer too large"),
            (10, dict(vec![("k", P::Int(1 << 63))]), "an attribute int is signed 64-bit"),
            (11, P::None, "dropped_attributes: invalid type: None, expected u32"),
            (12, s("e"), r#"events: invalid type: string "e", expected a sequence of events"#),
            (12, P::List(vec![P::Tuple(vec![])]), "event: invalid length 0, expected an event"),
            (13, P::Bool(false), "dropped_events"),
            (14, P::List(vec![P::None]), "link: invalid type: None, expected a link"),
            (15, P::Int(-3), "dropped_links"),
            (16, P::None, "status_code"),
            (17, P::Int(5), "status_description: invalid type: integer `5`, expected a string"),
        ];
        for (i, value, expected) in cases {
            let err = with_field(i, value.clone());
            assert!(err.contains(expected), "field {i} = {value:?}: {err}");
        }
        let mut short = span(P::Bytes(vec![1; 16]));
        if let P::Tuple(fields) = &mut short {
            fields.truncate(17);
        }
        let err = traces(&dumps(&batch(vec![short]))).unwrap_err();
        assert!(err.contains("span 0: invalid length 17, expected a span (a tuple of 18 elements"), "{err}");
        // Times beyond i64 (up to u64::MAX) are OTLP's range.
        let mut late = span(P::Bytes(vec![1; 16]));
        if let P::Tuple(fields) = &mut late {
            fields[9] = P::Int(u64::MAX.into());
        }
        let request = traces(&dumps(&batch(vec![late]))).expect("a u64 time");
        assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano, u64::MAX);
    }

    #[test]
    fn group_fields_are_checked() {
        let group = |attrs: P, schema_url: P, dropped: P, scopes: P| {
            dumps(&versioned(1, P::List(vec![P::Tuple(vec![attrs, schema_url, dropped, scopes])])))
        };
        let err = traces(&group(P::None, P::Int(1), P::Int(0), P::List(vec![]))).unwrap_err();
        assert!(err.contains("resource group 0: resource schema_url: invalid type: integer `1`"), "{err}");
        let err = traces(&group(P::None, P::None, P::Int(0), P::None)).unwrap_err();
        assert!(err.contains("expected a sequence of scope groups"), "{err}");
        let err = traces(&dumps(&versioned(1, P::List(vec![P::Tuple(vec![P::None])])))).unwrap_err();
        assert!(err.contains("invalid length 1, expected a resource group (a tuple of 4 elements"), "{err}");
        let scope = |name: P| P::List(vec![P::Tuple(vec![name, P::None, P::None, P::None, P::List(vec![])])]);
        let err = traces(&group(P::None, P::None, P::Int(0), scope(P::None))).unwrap_err();
        assert!(err.contains("resource group 0, scope group 0: scope name: invalid type: None"), "{err}");
        let request = traces(&group(P::None, P::None, P::Int(7), scope(s("")))).expect("empty scope");
        assert_eq!(request.resource_spans[0].resource.as_ref().unwrap().dropped_attributes_count, 7);
        let err = traces(&dumps(&versioned(1, dict(vec![])))).unwrap_err();
        assert!(err.contains("invalid type: map, expected a sequence"), "{err}");
    }

    #[test]
    fn metric_batch_kinds_become_otlp_data() {
        let number = P::Tuple(vec![dict(vec![]), P::Int(1), P::Int(2), P::Int(7), P::None, P::Int(0)]);
        let float = P::Tuple(vec![dict(vec![("k", s("v"))]), P::Int(1), P::Int(2), P::Float(0.5), P::None, P::Int(0)]);
        let histogram = P::Tuple(vec![
            dict(vec![]),
            P::Int(1),
            P::Int(2),
            P::Int(3),
            P::Float(4.5),
            P::List(vec![P::Int(1), P::Int(2)]),
            P::List(vec![P::Float(1.0)]),
            P::None,
            P::Float(3.0),
            P::None,
            P::Int(0),
        ]);
        let exemplar =
            P::Tuple(vec![dict(vec![]), P::Int(5), P::Float(2.5), P::Bytes(vec![1; 8]), P::Bytes(vec![2; 16])]);
        let exponential = P::Tuple(vec![
            dict(vec![]),
            P::Int(1),
            P::Int(2),
            P::Int(3),
            P::None,
            P::Int(-2),
            P::Int(1),
            P::Int(0),
            P::Tuple(vec![P::Int(-1), P::List(vec![P::Int(1), P::Int(1)])]),
            P::None,
            P::Float(0.1),
            P::Float(9.0),
            P::List(vec![exemplar]),
            P::Int(1),
        ]);
        let metric = |kind: &str, point: P| {
            P::Tuple(vec![s(kind), s(""), s("1"), s(kind), P::Int(1), P::Bool(true), P::List(vec![point])])
        };
        let request = metrics(&dumps(&batch(vec![
            metric("sum", number.clone()),
            metric("histogram", histogram),
            metric("gauge", float),
            metric("exponential_histogram", exponential),
        ])))
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
                assert_eq!((p.bucket_counts.clone(), p.explicit_bounds.clone()), (vec![1, 2], vec![1.0]));
            }
            other => panic!("{other:?}"),
        }
        match &metrics[2].data {
            Some(m::metric::Data::Gauge(g)) => {
                assert_eq!(g.data_points[0].value, Some(m::number_data_point::Value::AsDouble(0.5)));
                assert_eq!(g.data_points[0].attributes[0].key, "k");
            }
            other => panic!("{other:?}"),
        }
        match &metrics[3].data {
            Some(m::metric::Data::ExponentialHistogram(e)) => {
                let p = &e.data_points[0];
                assert_eq!((p.scale, p.zero_count, p.zero_threshold, p.flags), (-2, 1, 0.0, 1));
                assert_eq!(p.positive.as_ref().map(|b| (b.offset, b.bucket_counts.clone())), Some((-1, vec![1, 1])));
                assert_eq!(p.negative, None);
                let x = &p.exemplars[0];
                assert_eq!((x.time_unix_nano, x.span_id.len(), x.trace_id.len()), (5, 8, 16));
                assert_eq!(x.value, Some(m::exemplar::Value::AsDouble(2.5)));
            }
            other => panic!("{other:?}"),
        }
        let err = metrics_err(&dumps(&batch(vec![metric("summary", number.clone())])));
        assert!(err.contains("unknown kind \"summary\""), "{err}");
        let err = metrics_err(&dumps(&batch(vec![metric("histogram", number.clone())])));
        assert!(err.contains("malformed data point of metric \"histogram\": invalid length 6"), "{err}");
        let err = metrics_err(&dumps(&batch(vec![P::Tuple(vec![s("m"), s(""), s("")])])));
        assert!(err.contains("metric tuple ends before kind (element 3)"), "{err}");
        let err = metrics_err(&dumps(&batch(vec![metric("gauge", P::Tuple(vec![s("not"), s("a"), s("point")]))])));
        assert!(err.contains("malformed data point of metric \"gauge\""), "{err}");
        let mut bad_exemplar = number;
        if let P::Tuple(fields) = &mut bad_exemplar {
            fields[4] = P::List(vec![P::Tuple(vec![dict(vec![]), P::Int(5), P::Bool(true), P::None, P::None])]);
        }
        let err = metrics_err(&dumps(&batch(vec![metric("sum", bad_exemplar)])));
        assert!(err.contains("exemplar: value: invalid type: boolean `true`, expected a number"), "{err}");
    }

    fn metrics_err(bytes: &[u8]) -> String {
        metrics(bytes).unwrap_err()
    }
}
