//! Attribute values: the ClickHouse-compatible string rendering and the lossless type column.
//!
//! Every attribute map `X` is stored as a `Map<Utf8, Utf8>` column `X` and a `Utf8` column
//! `XTypes`. `X` holds each value rendered as a string exactly as the OpenTelemetry Collector's
//! ClickHouse exporter renders it (`pcommon.Value.AsString`). `XTypes` holds what the rendering
//! loses, for all the entries of the row's map in their order: one code per entry, `s` string,
//! `i` int, `d` double, `b` bool, `y` bytes, `e` an `AnyValue` with no value, `u` a `KeyValue`
//! without a value; for arrays and key-value lists the whole value as OTLP/JSON
//! (`{"arrayValue":{...}}`, `{"kvlistValue":{...}}`) in place of a code. A span with 4 string,
//! 3 int, 2 double and 1 bool attributes has `XTypes` = `ssssiiiddb`: a few bytes that
//! compress to almost nothing, where a twin map would repeat every key. Together the
//! two columns give back the exact `AnyValue`.
//!
//! Files of schema version 1 (see [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)) have a
//! `Map<Utf8, Utf8>` `XTypes` with the same keys as `X` and the type names (`string`, `int`, ...)
//! or the OTLP/JSON as values; [`parse`] reads both.

use std::fmt::Write as _;

use crate::proto::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

#[cfg(doc)]
use crate::MAX_VALUE_DEPTH;

/// Type code of a string value.
const TYPE_STRING: &str = "s";
/// Type code of an int value.
const TYPE_INT: &str = "i";
/// Type code of a double value.
const TYPE_DOUBLE: &str = "d";
/// Type code of a bool value.
const TYPE_BOOL: &str = "b";
/// Type code of a bytes value.
const TYPE_BYTES: &str = "y";
/// Type code of an `AnyValue` with no value set.
const TYPE_EMPTY: &str = "e";
/// Type code of a `KeyValue` whose `value` is absent.
const TYPE_UNSET: &str = "u";

/// A borrowed attribute value from one of the sources we ingest.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttrValue<'a> {
    /// `KeyValue.value` of an OTLP message (`None`: the key has no value).
    Otlp(Option<&'a AnyValue>),
    /// An OpenTelemetry API bool.
    Bool(bool),
    /// An OpenTelemetry API int.
    Int(i64),
    /// An OpenTelemetry API double.
    Double(f64),
    /// An OpenTelemetry API string.
    Str(&'a str),
}

/// A `KeyValue` (opentelemetry-proto 0.32 adds `key_strindex`, a reference into a profile's
/// string table, which other signals leave 0: see [`render`]).
#[allow(clippy::needless_update)] // not needless with opentelemetry-proto 0.32
pub(crate) fn key_value(key: String, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key, value, ..Default::default() }
}

/// Writes the ClickHouse rendering of `value` into `rendered` (cleared first) and appends its
/// type code (or OTLP/JSON) to `ty`, the `XTypes` string of the row being built.
pub(crate) fn render(value: AttrValue<'_>, rendered: &mut String, ty: &mut String) {
    rendered.clear();
    match value {
        AttrValue::Otlp(None) => ty.push_str(TYPE_UNSET),
        AttrValue::Otlp(Some(any)) => render_any(any.value.as_ref(), rendered, ty),
        AttrValue::Bool(b) => {
            rendered.push_str(if b { "true" } else { "false" });
            ty.push_str(TYPE_BOOL);
        }
        AttrValue::Int(i) => {
            rendered.push_str(itoa::Buffer::new().format(i));
            ty.push_str(TYPE_INT);
        }
        AttrValue::Double(f) => {
            write_double(f, rendered);
            ty.push_str(TYPE_DOUBLE);
        }
        AttrValue::Str(s) => {
            rendered.push_str(s);
            ty.push_str(TYPE_STRING);
        }
    }
}

fn render_any(value: Option<&any_value::Value>, rendered: &mut String, ty: &mut String) {
    use any_value::Value;
    match value {
        None => ty.push_str(TYPE_EMPTY),
        // A reference into a profile's string table (opentelemetry-proto 0.32), which the
        // specification tells receivers of other signals to process as if absent: rendered as
        // empty, kept (as OTLP/JSON) in the type column.
        #[cfg(feature = "sdk-0-32")]
        Some(index @ Value::StringValueStrindex(_)) => write_otlp_json(Some(index), ty),
        Some(Value::StringValue(s)) => render(AttrValue::Str(s), rendered, ty),
        Some(Value::BoolValue(b)) => render(AttrValue::Bool(*b), rendered, ty),
        Some(Value::IntValue(i)) => render(AttrValue::Int(*i), rendered, ty),
        Some(Value::DoubleValue(f)) => render(AttrValue::Double(*f), rendered, ty),
        Some(Value::BytesValue(b)) => {
            BASE64.encode_string(b, rendered);
            ty.push_str(TYPE_BYTES);
        }
        Some(complex @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            write_go_json(Some(complex), rendered);
            write_otlp_json(Some(complex), ty);
        }
    }
}

/// A double as `pcommon` renders it: shortest round-trip digits, `f` notation unless
/// |x| < 1e-6 or |x| >= 1e21, then `e` notation (`1e+21`, `1.5e-7`). NaN and infinities, which
/// the Collector renders as an error text, are written `NaN`, `+Inf`, `-Inf`.
pub(crate) fn write_double(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // The shortest round-trip digits, the closest to the value, ties to even as Go's strconv
    // (zmij, in `d.ddd`, `ddd.0` or `d.ddde±x` form), laid out as `pcommon` does.
    let mut buffer = zmij::Buffer::new();
    let printed = buffer.format_finite(f);
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) && !printed.contains(['e', 'E']) {
        // Already positional: only a `.0` to drop.
        out.push_str(printed.strip_suffix(".0").unwrap_or(printed));
        return;
    }
    let printed = printed.trim_start_matches('-');
    // Otherwise: value = 0.DIGITS x 10^point.
    let (mantissa, exponent) = match printed.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (printed, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = [0u8; 32];
    let mut len = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    let mut point = int_part.len() as i32 + exponent;
    // Leading zeros (`0.00123`) and trailing zeros (`1.0`, `100.0`) are not significant digits.
    let leading = digits[..len].iter().take_while(|&&d| d == b'0').count();
    digits.copy_within(leading..len, 0);
    len -= leading;
    point -= leading as i32;
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    let digits = std::str::from_utf8(&digits[..len]).unwrap_or("0");
    if f < 0.0 {
        out.push('-');
    }
    if (1e-6..1e21).contains(&abs) {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(digits);
        } else if point as usize >= digits.len() {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        let exp = point - 1;
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(itoa::Buffer::new().format(exp.unsigned_abs()));
    }
}

fn parse_double(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// JSON as Go's `encoding/json` writes `Value.AsRaw()` (the Collector's rendering of arrays and
/// maps): map keys sorted, HTML characters escaped, bytes as base64 strings, empty as `null`.
fn write_go_json(value: Option<&any_value::Value>, out: &mut String) {
    use any_value::Value;
    match value {
        None => out.push_str("null"),
        #[cfg(feature = "sdk-0-32")]
        Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_go_string(s, out),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(f)) if f.is_finite() => write_double(*f, out),
        Some(Value::DoubleValue(f)) => {
            let mut s = String::new();
            write_double(*f, &mut s);
            write_go_string(&s, out);
        }
        Some(Value::BytesValue(b)) => write_go_string(&BASE64.encode(b), out),
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(v.value.as_ref(), out);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kv)) => {
            // Go maps: sorted keys, the last duplicate wins.
            let mut entries: std::collections::BTreeMap<&str, Option<&any_value::Value>> =
                std::collections::BTreeMap::new();
            for e in &kv.values {
                entries.insert(&e.key, e.value.as_ref().and_then(|v| v.value.as_ref()));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The OTLP/JSON encoding of an `AnyValue` (proto3 JSON mapping: `intValue` as a string,
/// bytes as base64, non-finite doubles as `"NaN"`, `"Infinity"`, `"-Infinity"`).
fn write_otlp_json(value: Option<&any_value::Value>, out: &mut String) {
    use any_value::Value;
    let json_str =
        |s: &str, out: &mut String| out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
    match value {
        None => out.push_str("{}"),
        #[cfg(feature = "sdk-0-32")]
        Some(Value::StringValueStrindex(i)) => {
            let _ = write!(out, "{{\"stringValueStrindex\":{i}}}");
        }
        Some(Value::StringValue(s)) => {
            out.push_str("{\"stringValue\":");
            json_str(s, out);
            out.push('}');
        }
        Some(Value::BoolValue(b)) => {
            let _ = write!(out, "{{\"boolValue\":{b}}}");
        }
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{{\"intValue\":\"{i}\"}}");
        }
        Some(Value::DoubleValue(f)) => {
            out.push_str("{\"doubleValue\":");
            if f.is_nan() {
                out.push_str("\"NaN\"");
            } else if f.is_infinite() {
                out.push_str(if *f > 0.0 { "\"Infinity\"" } else { "\"-Infinity\"" });
            } else {
                // Debug keeps a fraction or exponent, so -0.0 stays a float in JSON.
                let _ = write!(out, "{f:?}");
            }
            out.push('}');
        }
        Some(Value::BytesValue(b)) => {
            out.push_str("{\"bytesValue\":\"");
            BASE64.encode_string(b, out);
            out.push_str("\"}");
        }
        Some(Value::ArrayValue(a)) => {
            out.push_str("{\"arrayValue\":{\"values\":[");
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_otlp_json(v.value.as_ref(), out);
            }
            out.push_str("]}}");
        }
        Some(Value::KvlistValue(kv)) => {
            out.push_str("{\"kvlistValue\":{\"values\":[");
            for (i, e) in kv.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"key\":");
                json_str(&e.key, out);
                if let Some(v) = &e.value {
                    out.push_str(",\"value\":");
                    write_otlp_json(v.value.as_ref(), out);
                }
                out.push('}');
            }
            out.push_str("]}}");
        }
    }
}

fn parse_otlp_json(json: &serde_json::Value) -> Result<Option<any_value::Value>, String> {
    use any_value::Value;
    use serde_json::Value as J;
    let obj = json.as_object().ok_or_else(|| format!("expected an AnyValue object, got {json}"))?;
    let Some((key, v)) = obj.iter().next() else {
        return Ok(None);
    };
    let bad = || format!("invalid {key} {v}");
    Ok(Some(match key.as_str() {
        "stringValue" => Value::StringValue(v.as_str().ok_or_else(bad)?.to_owned()),
        #[cfg(feature = "sdk-0-32")]
        "stringValueStrindex" => {
            Value::StringValueStrindex(v.as_i64().and_then(|i| i32::try_from(i).ok()).ok_or_else(bad)?)
        }
        "boolValue" => Value::BoolValue(v.as_bool().ok_or_else(bad)?),
        "intValue" => Value::IntValue(v.as_str().and_then(|s| s.parse().ok()).ok_or_else(bad)?),
        "doubleValue" => Value::DoubleValue(match v {
            J::String(s) if s == "NaN" => f64::NAN,
            J::String(s) if s == "Infinity" => f64::INFINITY,
            J::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
            J::Number(n) => n.as_f64().ok_or_else(bad)?,
            _ => return Err(bad()),
        }),
        "bytesValue" => Value::BytesValue(v.as_str().and_then(|s| BASE64.decode(s).ok()).ok_or_else(bad)?),
        "arrayValue" => {
            let values = v.get("values").and_then(J::as_array).ok_or_else(bad)?;
            Value::ArrayValue(ArrayValue {
                values: values
                    .iter()
                    .map(|e| parse_otlp_json(e).map(|value| AnyValue { value }))
                    .collect::<Result<_, _>>()?,
            })
        }
        "kvlistValue" => {
            let values = v.get("values").and_then(J::as_array).ok_or_else(bad)?;
            let mut out = Vec::with_capacity(values.len());
            for e in values {
                let key = e.get("key").and_then(J::as_str).ok_or_else(bad)?.to_owned();
                let value = match e.get("value") {
                    None => None,
                    Some(v) => Some(AnyValue { value: parse_otlp_json(v)? }),
                };
                out.push(key_value(key, value));
            }
            Value::KvlistValue(KeyValueList { values: out })
        }
        other => return Err(format!("unknown AnyValue field {other:?}")),
    }))
}

/// The deepest value the reader accepts: more than [`MAX_VALUE_DEPTH`] (what is written now), so
/// that stores written before that limit (protobuf decoding allowed about 47 levels) stay
/// readable.
const READ_DEPTH: usize = 64;

/// The brackets of a JSON text outside its strings, in order: (byte offset, `true` for `{`/`[`).
fn json_brackets(json: &str) -> impl Iterator<Item = (usize, bool)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    json.bytes().enumerate().filter_map(move |(i, b)| {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            return None;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => return Some((i, true)),
            b'}' | b']' => return Some((i, false)),
            _ => {}
        }
        None
    })
}

/// The bracket nesting depth of a JSON text (outside strings), in one pass without recursion.
fn json_depth(json: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for (_, open) in json_brackets(json) {
        if open {
            depth += 1;
            max = max.max(depth);
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    max
}

/// Drops a parsed JSON value without recursing (its `Drop` recurses once per level).
fn dismantle_json(value: serde_json::Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// The entries of an `XTypes` string (schema version 2): each a one-character code or an
/// OTLP/JSON object. A JSON object ends at its matching `}` (outside strings).
pub(crate) fn type_entries(types: &str) -> impl Iterator<Item = Result<&str, String>> + '_ {
    let mut rest = types;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let len = if first == '{' {
            match json_object_len(rest) {
                Some(len) => len,
                None => {
                    rest = "";
                    return Some(Err(format!("unterminated OTLP/JSON in attribute types {types:?}")));
                }
            }
        } else {
            first.len_utf8()
        };
        let (entry, tail) = rest.split_at(len);
        rest = tail;
        Some(Ok(entry))
    })
}

/// The length of the JSON object at the start of `s`, `None` if it does not end.
fn json_object_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, open) in json_brackets(s) {
        if open {
            depth += 1;
        } else {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i + 1);
            }
        }
    }
    None
}

/// Rebuilds `KeyValue.value` from a stored rendering and its type: a code of schema version 2
/// or a type name of version 1 (`string`, `int`, `double`, `bool`, `bytes`, `empty`, `unset`),
/// or the OTLP/JSON of an array or key-value list (both versions).
pub(crate) fn parse(rendered: &str, ty: &str) -> Result<Option<AnyValue>, String> {
    use any_value::Value;
    let value = match ty {
        TYPE_UNSET | "unset" => return Ok(None),
        TYPE_EMPTY | "empty" => None,
        TYPE_STRING | "string" => Some(Value::StringValue(rendered.to_owned())),
        TYPE_INT | "int" => {
            Some(Value::IntValue(rendered.parse().map_err(|e| format!("int attribute {rendered:?}: {e}"))?))
        }
        TYPE_DOUBLE | "double" => {
            Some(Value::DoubleValue(parse_double(rendered).ok_or_else(|| format!("double attribute {rendered:?}"))?))
        }
        TYPE_BOOL | "bool" => Some(Value::BoolValue(match rendered {
            "true" => true,
            "false" => false,
            _ => return Err(format!("bool attribute {rendered:?}")),
        })),
        TYPE_BYTES | "bytes" => {
            Some(Value::BytesValue(BASE64.decode(rendered).map_err(|e| format!("bytes attribute {rendered:?}: {e}"))?))
        }
        json if json.starts_with('{') => {
            // Written values nest at most MAX_VALUE_DEPTH levels (three JSON levels each); a
            // file claiming deeper nesting is refused before anything recurses on it.
            let bad = |e: serde_json::Error| format!("attribute type JSON {json:?}: {e}");
            let depth = json_depth(json);
            if depth > 3 * READ_DEPTH + 1 {
                return Err(format!("attribute type JSON nests {depth} levels, more than this crate writes"));
            }
            let mut de = serde_json::Deserializer::from_str(json);
            de.disable_recursion_limit();
            let parsed = <serde_json::Value as serde::Deserialize>::deserialize(&mut de).map_err(bad)?;
            de.end().map_err(bad)?;
            let value = parse_otlp_json(&parsed)?;
            dismantle_json(parsed);
            value
        }
        other => return Err(format!("unknown attribute type {other:?}")),
    };
    Ok(Some(AnyValue { value }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use any_value::Value;

    fn rendered(v: Value) -> (String, String) {
        let any = AnyValue { value: Some(v) };
        let (mut r, mut t) = (String::new(), String::new());
        render(AttrValue::Otlp(Some(&any)), &mut r, &mut t);
        (r, t)
    }

    fn roundtrip(v: Option<AnyValue>) {
        let (mut r, mut t) = (String::new(), String::new());
        render(AttrValue::Otlp(v.as_ref()), &mut r, &mut t);
        let back = parse(&r, &t).unwrap();
        assert_eq!(format!("{v:?}"), format!("{back:?}"), "rendered {r:?} type {t:?}");
    }

    #[test]
    fn scalars_render_like_the_collector() {
        assert_eq!(rendered(Value::StringValue("a b".into())), ("a b".into(), "s".into()));
        assert_eq!(rendered(Value::IntValue(-42)), ("-42".into(), "i".into()));
        assert_eq!(rendered(Value::BoolValue(true)), ("true".into(), "b".into()));
        assert_eq!(rendered(Value::BytesValue(vec![1, 2, 3])), ("AQID".into(), "y".into()));
        assert_eq!(rendered(Value::DoubleValue(0.5)), ("0.5".into(), "d".into()));
        for (f, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (-0.0, "-0"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789.125, "123456789.125"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(rendered(Value::DoubleValue(f)).0, s, "{f}");
        }
    }

    /// The rendering through `core::fmt` that `write_double` replaced, as the oracle.
    fn fmt_double(f: f64) -> String {
        if f.is_nan() {
            return "NaN".into();
        }
        if f.is_infinite() {
            return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        let abs = f.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let sci = format!("{f:e}");
            let (mantissa, exp) = sci.split_once('e').unwrap();
            format!("{mantissa}e{}{exp}", if exp.starts_with('-') { "" } else { "+" })
        } else {
            format!("{f}")
        }
    }

    /// `ours` is what `core::fmt` writes, or, where the value lies exactly halfway between two
    /// shortest renderings, the one with the even last digit (as Go's `strconv`, which the
    /// Collector uses, and Python's `repr` choose; `core::fmt` rounds such ties up).
    fn check_double(f: f64, ours: &str) -> Result<(), String> {
        let oracle = fmt_double(f);
        if ours == oracle {
            return Ok(());
        }
        let significant = |s: &str| -> String {
            let m = s.split('e').next().unwrap_or(s);
            m.chars().filter(char::is_ascii_digit).collect::<String>().trim_matches('0').to_owned()
        };
        let (a, b) = (significant(ours), significant(&oracle));
        let tie = a.len() == b.len()
            && parse_double(ours) == Some(f)
            && a.bytes().last().is_some_and(|d| d % 2 == 0)
            && a[..a.len() - 1] == b[..b.len() - 1];
        if tie {
            Ok(())
        } else {
            Err(format!("{f:e}: wrote {ours:?}, core::fmt writes {oracle:?}"))
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn doubles_render_as_core_fmt_would(bits in proptest::prelude::any::<u64>(), small in -1e7f64..1e7) {
            for f in [f64::from_bits(bits), small, small / 1e9, small * 1e15, (small * 100.0).round() / 100.0] {
                let mut out = String::new();
                write_double(f, &mut out);
                check_double(f, &out).map_err(proptest::test_runner::TestCaseError::fail)?;
            }
        }
    }

    #[test]
    fn a_tie_rounds_to_the_even_digit_as_go_does() {
        // 9707897841763.3125 exactly: .312 and .313 both read back as it.
        let f: f64 = "9707897841763.3125".parse().unwrap();
        let mut out = String::new();
        write_double(f, &mut out);
        assert_eq!(out, "9707897841763.312");
    }

    #[test]
    fn doubles_at_the_notation_boundaries() {
        for f in [
            1e21,
            9.999999999999999e20,
            1e-6,
            9.99999999999e-7,
            1e-7,
            1e20,
            123.0,
            100.0,
            0.1,
            0.5e-6,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e16,
            1e15,
            1.5e16,
            12345678901234567.0,
            0.001,
            0.000123,
        ] {
            for f in [f, -f] {
                let mut out = String::new();
                write_double(f, &mut out);
                check_double(f, &out).unwrap();
            }
        }
    }

    #[test]
    fn complex_values_render_as_go_json() {
        let array = Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue { value: Some(Value::IntValue(1)) },
                AnyValue { value: Some(Value::DoubleValue(2.5)) },
                AnyValue { value: Some(Value::StringValue("<a>".into())) },
                AnyValue { value: None },
            ],
        });
        let (r, t) = rendered(array);
        assert_eq!(r, r#"[1,2.5,"\u003ca\u003e",null]"#);
        assert!(t.starts_with("{\"arrayValue\""), "{t}");
        let kv = Value::KvlistValue(KeyValueList {
            values: vec![
                key_value("z".into(), Some(AnyValue { value: Some(Value::BoolValue(false)) })),
                key_value("a".into(), Some(AnyValue { value: Some(Value::IntValue(3)) })),
            ],
        });
        assert_eq!(rendered(kv).0, r#"{"a":3,"z":false}"#);
    }

    #[test]
    fn every_type_round_trips() {
        roundtrip(None);
        roundtrip(Some(AnyValue { value: None }));
        for v in [
            Value::StringValue(String::new()),
            Value::StringValue("ünïcødé ✓ \"quoted\"\n".into()),
            Value::IntValue(i64::MIN),
            Value::DoubleValue(f64::NAN),
            Value::DoubleValue(f64::INFINITY),
            Value::DoubleValue(-0.0),
            Value::DoubleValue(f64::MIN_POSITIVE),
            Value::DoubleValue(0.1 + 0.2),
            Value::BoolValue(false),
            Value::BytesValue(vec![]),
            Value::BytesValue(vec![0, 255, 7]),
            Value::ArrayValue(ArrayValue { values: vec![] }),
            Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue { value: Some(Value::DoubleValue(1.0)) },
                    AnyValue { value: Some(Value::DoubleValue(-0.0)) },
                    AnyValue { value: Some(Value::DoubleValue(f64::NAN)) },
                    AnyValue { value: Some(Value::IntValue(1)) },
                    AnyValue { value: Some(Value::BytesValue(vec![9])) },
                    AnyValue { value: None },
                ],
            }),
            Value::KvlistValue(KeyValueList {
                values: vec![
                    key_value("no value".into(), None),
                    key_value("empty".into(), Some(AnyValue { value: None })),
                    key_value(
                        "nested".into(),
                        Some(AnyValue {
                            value: Some(Value::ArrayValue(ArrayValue {
                                values: vec![AnyValue { value: Some(Value::StringValue("x".into())) }],
                            })),
                        }),
                    ),
                ],
            }),
            // A profile's string-table reference (opentelemetry-proto 0.32): rendered empty, kept.
            #[cfg(feature = "sdk-0-32")]
            Value::StringValueStrindex(7),
            #[cfg(feature = "sdk-0-32")]
            Value::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(Value::StringValueStrindex(-1)) }] }),
        ] {
            roundtrip(Some(AnyValue { value: Some(v) }));
        }
    }

    #[test]
    fn a_types_string_splits_into_codes_and_json_objects() {
        let json = r#"{"kvlistValue":{"values":[{"key":"}{","value":{"stringValue":"]\\\"}"}}]}}"#;
        let types = format!("si{json}ue{json}d");
        let entries: Vec<_> = type_entries(&types).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries, ["s", "i", json, "u", "e", json, "d"]);
        assert!(parse("", json).unwrap().is_some(), "the split JSON parses");
        assert_eq!(type_entries("").count(), 0);
        let err = type_entries("s{\"arrayValue\":{").nth(1).unwrap().unwrap_err();
        assert!(err.contains("unterminated"), "{err}");
        // A stray closing bracket does not underflow; a mismatched one ends the object, which
        // then fails to parse.
        assert_eq!(json_object_len("}"), None);
        assert_eq!(json_object_len("{]]}"), Some(2));
        assert!(parse("", "{]").is_err());
    }

    #[test]
    fn version_1_type_names_still_parse() {
        for (rendered, name, code) in [
            ("x", "string", "s"),
            ("-3", "int", "i"),
            ("2.5", "double", "d"),
            ("true", "bool", "b"),
            ("AQID", "bytes", "y"),
        ] {
            assert_eq!(parse(rendered, name).unwrap(), parse(rendered, code).unwrap(), "{name}");
        }
        assert_eq!(parse("", "empty").unwrap(), Some(AnyValue { value: None }));
        assert_eq!(parse("", "unset").unwrap(), None);
    }

    #[test]
    fn hostile_nesting_in_a_stored_type_is_an_error_not_an_abort() {
        let deep = "{\"arrayValue\":{\"values\":[".repeat(10_000) + &"]}}".repeat(10_000);
        let err = parse("", &deep).unwrap_err();
        assert!(err.contains("more than this crate writes"), "{err}");
        // Brackets inside strings do not count.
        let text = format!("{{\"stringValue\":\"{}\"}}", "[".repeat(1_000));
        assert_eq!(json_depth(&text), 1);
        assert!(parse("", &format!("{{\"arrayValue\":{{\"values\":[{text}]}}}}")).is_ok());
    }
}
