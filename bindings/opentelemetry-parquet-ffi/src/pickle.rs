//! A reader of the pickles CPython writes (protocol 4 and 5, with or without the memo) for plain
//! builtins: `None`, `bool`, `int`, `float`, `str`, `bytes`, tuples, lists and dicts. Nothing
//! else: class references, objects, sets and out-of-band buffers are refused, and so are the
//! opcodes only older protocols write.
//!
//! [`Pickle::parse`] runs the opcodes once, without recursion, into a flat tree whose strings and
//! bytes borrow from the input (no allocation per value); [`crate::batch`] then walks that tree
//! against the batch layout. The pass also bounds what a hostile pickle could make of it:
//! - containers nest at most [`MAX_PICKLE_DEPTH`] levels, so the walk's recursion is bounded;
//! - a container changed after it was put into another one is refused (Python's pickler never
//!   does that; it is how a memo reference could otherwise build a cycle);
//! - memo references share a value instead of copying it, and the tree they stand for is at
//!   most [`EXPANSION`] times the size of the pickle (a pickle of a few hundred bytes can
//!   otherwise stand for a tree of 2^48 nodes);
//! - every length is checked against the bytes left before it is used, so truncated input and
//!   hostile sizes are errors, and memory stays linear in the input.
//!
//! Every refusal is an error text naming what was wrong; nothing here panics on any input.

/// The deepest container nesting a batch may have: an attribute value of
/// [`MAX_VALUE_DEPTH`](opentelemetry_parquet::MAX_VALUE_DEPTH) levels inside the deepest place
/// of the batch layout (an exemplar's attributes: 12 containers), with room to spare. The core
/// then applies its exact limit to the attribute values.
pub(crate) const MAX_PICKLE_DEPTH: u32 = opentelemetry_parquet::MAX_VALUE_DEPTH as u32 + 16;

/// How much larger than its pickle the tree of a batch may be, counted in [`weight_of`] units
/// (about one byte of decoded value each): memo references may share, not multiply.
pub(crate) const EXPANSION: u64 = 64;

/// Allowance of [`EXPANSION`] for small pickles.
const EXPANSION_FLOOR: u64 = 1 << 16;

/// The highest pickle protocol (PROTO opcode) read.
const HIGHEST_PROTOCOL: u8 = 5;

/// Index of a value in [`Pickle`].
pub(crate) type Id = u32;

/// "No run" in a container's chain of item runs.
const NIL: u32 = u32::MAX;

/// One value of the tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    None,
    Bool(bool),
    /// An int of the signed 64-bit range.
    Int(i64),
    /// An int from 2^63 to 2^64 - 1 (fits an unsigned 64-bit field only).
    UInt(u64),
    /// An int beyond 64 bits.
    BigInt,
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// A tuple, list or dict: an index into the containers.
    Tuple(u32),
    List(u32),
    Dict(u32),
}

/// A container's items: one run (a tuple), or a chain of runs (a list or dict grows by
/// `APPEND(S)` / `SETITEM(S)`, and other values may be built between two of them).
#[derive(Debug, Clone, Copy)]
struct Container {
    /// Tuple: the index of its first item in `items`. List and dict: the first run, or NIL.
    first: u32,
    /// The last run (lists and dicts).
    last: u32,
    /// Items (a dict's keys and values both count).
    len: u32,
    depth: u32,
    /// The [`weight_of`] the container and everything in it.
    weight: u64,
    /// Put into another container: may not change anymore.
    frozen: bool,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start: u32,
    len: u32,
    next: u32,
}

/// A parsed pickle: its values, borrowing strings and bytes from the input.
#[derive(Debug)]
pub(crate) struct Pickle<'a> {
    values: Vec<Value<'a>>,
    containers: Vec<Container>,
    /// Item ids of the containers, in runs.
    items: Vec<Id>,
    runs: Vec<Run>,
    root: Id,
}

/// What a pickle's opcodes are run on.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Id>,
    /// Stack heights at the MARKs.
    marks: Vec<usize>,
    memo: Vec<Id>,
    max_weight: u64,
    out: Pickle<'a>,
}

impl<'a> Pickle<'a> {
    /// Runs the pickle `input`; the error says why it was refused.
    pub(crate) fn parse(input: &'a [u8]) -> Result<Pickle<'a>, String> {
        if u32::try_from(input.len()).is_err() {
            return Err(format!("a pickle of {} bytes is larger than 4 GiB", input.len()));
        }
        // A few bytes per value in CPython's output: reserve for that, growing past it if needed.
        let values = input.len() / 4 + 4;
        let mut m = Machine {
            input,
            pos: 0,
            stack: Vec::with_capacity(64),
            marks: Vec::with_capacity(16),
            memo: Vec::new(),
            max_weight: (input.len() as u64).saturating_mul(EXPANSION).saturating_add(EXPANSION_FLOOR),
            out: Pickle {
                values: Vec::with_capacity(values),
                containers: Vec::with_capacity(values / 4),
                items: Vec::with_capacity(values),
                runs: Vec::with_capacity(values / 8),
                root: 0,
            },
        };
        m.run()?;
        Ok(m.out)
    }

    /// The value the pickle stands for.
    pub(crate) fn root(&self) -> Id {
        self.root
    }

    /// The value `id`.
    pub(crate) fn get(&self, id: Id) -> Value<'a> {
        self.values[id as usize]
    }

    /// The items of a tuple or list (`None` for any other value).
    pub(crate) fn seq(&self, id: Id) -> Option<Items<'_>> {
        match self.get(id) {
            Value::Tuple(c) => {
                let c = self.containers[c as usize];
                let start = c.first as usize;
                Some(Items { pickle: self, run: &self.items[start..start + c.len as usize], next: NIL, left: c.len })
            }
            Value::List(c) => Some(self.chain(c)),
            _ => None,
        }
    }

    /// The keys and values of a dict, alternating, in their order (`None` for any other value).
    pub(crate) fn dict(&self, id: Id) -> Option<Items<'_>> {
        match self.get(id) {
            Value::Dict(c) => Some(self.chain(c)),
            _ => None,
        }
    }

    fn chain(&self, c: u32) -> Items<'_> {
        let c = self.containers[c as usize];
        Items { pickle: self, run: &[], next: c.first, left: c.len }
    }
}

/// The items of a container, in order.
#[derive(Debug, Clone)]
pub(crate) struct Items<'p> {
    pickle: &'p Pickle<'p>,
    run: &'p [Id],
    next: u32,
    left: u32,
}

impl Items<'_> {
    /// How many items are left.
    pub(crate) fn len(&self) -> usize {
        self.left as usize
    }
}

impl Iterator for Items<'_> {
    type Item = Id;

    fn next(&mut self) -> Option<Id> {
        loop {
            if let Some((&first, rest)) = self.run.split_first() {
                self.run = rest;
                self.left -= 1;
                return Some(first);
            }
            if self.next == NIL {
                return None;
            }
            let run = self.pickle.runs[self.next as usize];
            self.run = &self.pickle.items[run.start as usize..(run.start + run.len) as usize];
            self.next = run.next;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl ExactSizeIterator for Items<'_> {}

/// The [`EXPANSION`] counting unit of a value: an overhead plus its bytes of text.
fn weight_of(value: &Value<'_>, containers: &[Container]) -> u64 {
    match value {
        Value::Str(s) => 16 + s.len() as u64,
        Value::Bytes(b) => 16 + b.len() as u64,
        Value::Tuple(c) | Value::List(c) | Value::Dict(c) => containers[*c as usize].weight,
        _ => 16,
    }
}

fn depth_error() -> String {
    format!("the batch nests containers deeper than {MAX_PICKLE_DEPTH} levels")
}

impl<'a> Machine<'a> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let Some(&op) = self.input.get(self.pos) else {
                return Err("the pickle ends without its STOP opcode".into());
            };
            self.pos += 1;
            match op {
                // STOP
                b'.' => {
                    if self.stack.len() != 1 || !self.marks.is_empty() {
                        return Err(format!(
                            "malformed pickle: {} values and {} marks left at STOP (expected one value)",
                            self.stack.len(),
                            self.marks.len()
                        ));
                    }
                    self.out.root = self.stack[0];
                    return Ok(());
                }
                // PROTO
                0x80 => {
                    let protocol = self.take(op, 1)?[0];
                    if protocol > HIGHEST_PROTOCOL {
                        return Err(format!("pickle protocol {protocol} (this reader reads up to {HIGHEST_PROTOCOL})"));
                    }
                }
                // FRAME: a length hint only.
                0x95 => {
                    let len = self.length(op, 8)?;
                    if len > self.input.len() - self.pos {
                        return Err(format!("the pickle is truncated: a frame of {len} bytes is longer than the rest"));
                    }
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                // BININT1, BININT2, BININT
                b'K' => {
                    let v = self.take(op, 1)?[0];
                    self.push(Value::Int(v.into()));
                }
                b'M' => {
                    let b = self.take(op, 2)?;
                    self.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()));
                }
                b'J' => {
                    let b = self.take(op, 4)?;
                    self.push(Value::Int(i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into()));
                }
                // LONG1, LONG4
                0x8a => {
                    let len = self.length(op, 1)?;
                    let bytes = self.take(op, len)?;
                    self.push(long(bytes));
                }
                0x8b => {
                    let len = self.length(op, 4)?;
                    if len > i32::MAX as usize {
                        return Err("malformed pickle: LONG4 with a negative length".into());
                    }
                    let bytes = self.take(op, len)?;
                    self.push(long(bytes));
                }
                // BINFLOAT
                b'G' => {
                    let b = self.take(op, 8)?;
                    let mut be = [0u8; 8];
                    be.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(be)));
                }
                // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
                0x8c | b'X' | 0x8d => {
                    let width = match op {
                        0x8c => 1,
                        b'X' => 4,
                        _ => 8,
                    };
                    let len = self.length(op, width)?;
                    let bytes = self.take(op, len)?;
                    let text = std::str::from_utf8(bytes).map_err(|e| {
                        format!("a str of the pickle is not valid UTF-8 ({e}; a lone surrogate is not text)")
                    })?;
                    self.push(Value::Str(text));
                }
                // SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8 (read as bytes)
                b'C' | b'B' | 0x8e | 0x96 => {
                    let width = match op {
                        b'C' => 1,
                        b'B' => 4,
                        _ => 8,
                    };
                    let len = self.length(op, width)?;
                    let bytes = self.take(op, len)?;
                    self.push(Value::Bytes(bytes));
                }
                // MARK
                b'(' => self.marks.push(self.stack.len()),
                // EMPTY_TUPLE, TUPLE1..3, TUPLE
                b')' => self.tuple(self.stack.len())?,
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(format!("malformed pickle: TUPLE{n} with fewer than {n} values on the stack"));
                    }
                    self.tuple(self.stack.len() - n)?;
                }
                b't' => {
                    let mark = self.pop_mark(op)?;
                    self.tuple(mark)?;
                }
                // EMPTY_LIST, EMPTY_DICT
                b']' => self.container(false),
                b'}' => self.container(true),
                // APPEND, SETITEM: one item or pair into the container below it.
                b'a' | b's' => {
                    let n = if op == b'a' { 1 } else { 2 };
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n + 1 {
                        return Err(format!("malformed pickle: opcode 0x{op:02x} with too few values on the stack"));
                    }
                    self.grow(op, self.stack.len() - n)?;
                }
                // APPENDS, SETITEMS: the items since the mark.
                b'e' | b'u' => {
                    let mark = self.pop_mark(op)?;
                    if op == b'u' && (self.stack.len() - mark) % 2 != 0 {
                        return Err("malformed pickle: SETITEMS with a key and no value".into());
                    }
                    if mark == 0 || self.marks.last().is_some_and(|&m| m >= mark) {
                        return Err(format!("malformed pickle: opcode 0x{op:02x} with no container below its mark"));
                    }
                    self.grow(op, mark)?;
                }
                // MEMOIZE; BINPUT and LONG_BINPUT (protocols 1 to 3) in the order CPython writes them.
                0x94 => {
                    let top = self.top(op)?;
                    self.memo.push(top);
                }
                b'q' | b'r' => {
                    let index = if op == b'q' { self.length(op, 1)? } else { self.length(op, 4)? };
                    let top = self.top(op)?;
                    match index.cmp(&self.memo.len()) {
                        std::cmp::Ordering::Less => self.memo[index] = top,
                        std::cmp::Ordering::Equal => self.memo.push(top),
                        std::cmp::Ordering::Greater => {
                            return Err(format!("the pickle stores memo {index} before memo {}", self.memo.len()))
                        }
                    }
                }
                // BINGET, LONG_BINGET: the same value again (shared, not copied).
                b'h' | b'j' => {
                    let index = if op == b'h' { self.length(op, 1)? } else { self.length(op, 4)? };
                    let id = *self
                        .memo
                        .get(index)
                        .ok_or_else(|| format!("the pickle references memo {index}, never stored"))?;
                    self.stack.push(id);
                }
                other => {
                    return Err(format!(
                        "pickle opcode 0x{other:02x} is not plain data (the batch format is builtins pickled with \
                         protocol 4 or 5: class references, objects, sets and out-of-band buffers are not part of it)"
                    ))
                }
            }
        }
    }

    /// The next `n` bytes of argument of opcode `op`.
    fn take(&mut self, op: u8, n: usize) -> Result<&'a [u8], String> {
        let input = self.input;
        let bytes = input
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or_else(|| format!("the pickle is truncated in opcode 0x{op:02x}"))?;
        self.pos += n;
        Ok(bytes)
    }

    /// An unsigned little-endian argument of `width` bytes (a length or memo index).
    fn length(&mut self, op: u8, width: usize) -> Result<usize, String> {
        let raw = self.take(op, width)?;
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(raw);
        usize::try_from(u64::from_le_bytes(le)).map_err(|_| "a pickle length does not fit in memory".to_owned())
    }

    fn push(&mut self, value: Value<'a>) {
        self.stack.push(self.out.values.len() as Id);
        self.out.values.push(value);
    }

    /// The value on top of the stack (above the last mark).
    fn top(&self, op: u8) -> Result<Id, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(format!("malformed pickle: opcode 0x{op:02x} with no value on the stack"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    fn pop_mark(&mut self, op: u8) -> Result<usize, String> {
        self.marks.pop().ok_or_else(|| format!("malformed pickle: opcode 0x{op:02x} without a MARK"))
    }

    /// An empty list or dict.
    fn container(&mut self, dict: bool) {
        let c = self.out.containers.len() as u32;
        self.out.containers.push(Container { first: NIL, last: NIL, len: 0, depth: 1, weight: 16, frozen: false });
        self.push(if dict { Value::Dict(c) } else { Value::List(c) });
    }

    /// Freezes the items `stack[from..]`, which go into a container; their depth and weight.
    fn nest(&mut self, from: usize) -> (u32, u64) {
        let mut depth = 0;
        let mut weight = 0u64;
        let Pickle { values, containers, .. } = &mut self.out;
        for &id in &self.stack[from..] {
            let value = &values[id as usize];
            if let Value::Tuple(c) | Value::List(c) | Value::Dict(c) = value {
                let c = &mut containers[*c as usize];
                c.frozen = true;
                depth = depth.max(c.depth);
            }
            weight = weight.saturating_add(weight_of(value, containers));
        }
        (depth, weight)
    }

    fn check_weight(&self, weight: u64) -> Result<(), String> {
        if weight > self.max_weight {
            return Err(format!(
                "the pickle's memo references make the batch more than {EXPANSION} times the size of its bytes"
            ));
        }
        Ok(())
    }

    /// A tuple of the items `stack[from..]`, replacing them.
    fn tuple(&mut self, from: usize) -> Result<(), String> {
        let (depth, weight) = self.nest(from);
        let depth = depth + 1;
        if depth > MAX_PICKLE_DEPTH {
            return Err(depth_error());
        }
        let weight = weight.saturating_add(16);
        self.check_weight(weight)?;
        let start = self.out.items.len() as u32;
        let len = (self.stack.len() - from) as u32;
        self.out.items.extend_from_slice(&self.stack[from..]);
        self.stack.truncate(from);
        let c = self.out.containers.len() as u32;
        self.out.containers.push(Container { first: start, last: NIL, len, depth, weight, frozen: true });
        self.push(Value::Tuple(c));
        Ok(())
    }

    /// Moves the items `stack[from..]` into the list (APPEND/APPENDS) or dict (SETITEM/SETITEMS)
    /// at `stack[from - 1]`.
    fn grow(&mut self, op: u8, from: usize) -> Result<(), String> {
        let target = self.stack[from - 1];
        let c = match (op, self.out.values[target as usize]) {
            (b'a' | b'e', Value::List(c)) | (b's' | b'u', Value::Dict(c)) => c as usize,
            _ => {
                return Err(format!(
                    "malformed pickle: opcode 0x{op:02x} adds to something that is not a {}",
                    if op == b'a' || op == b'e' { "list" } else { "dict" }
                ))
            }
        };
        // Nested first: a container added to itself is frozen by that, and refused here.
        let (depth, weight) = self.nest(from);
        if self.out.containers[c].frozen {
            return Err("the pickle changes a container after putting it into another one (a cycle or a shared \
                        reference, not plain data)"
                .into());
        }
        let n = self.stack.len() - from;
        if n == 0 {
            return Ok(());
        }
        let Machine { out, stack, .. } = self;
        let start = out.items.len() as u32;
        out.items.extend_from_slice(&stack[from..]);
        stack.truncate(from);
        let container = &mut out.containers[c];
        let last = container.last;
        if last != NIL && out.runs[last as usize].start + out.runs[last as usize].len == start {
            out.runs[last as usize].len += n as u32;
        } else {
            let run = out.runs.len() as u32;
            out.runs.push(Run { start, len: n as u32, next: NIL });
            if last == NIL {
                container.first = run;
            } else {
                out.runs[last as usize].next = run;
            }
            container.last = run;
        }
        container.len += n as u32;
        container.depth = container.depth.max(depth + 1);
        container.weight = container.weight.saturating_add(weight);
        let (depth, weight) = (container.depth, container.weight);
        if depth > MAX_PICKLE_DEPTH {
            return Err(depth_error());
        }
        self.check_weight(weight)
    }
}

/// A LONG1 / LONG4 int: little-endian two's complement.
fn long(bytes: &[u8]) -> Value<'static> {
    // Drop the bytes that only extend the sign.
    let mut n = bytes.len();
    while n > 1
        && ((bytes[n - 1] == 0 && bytes[n - 2] & 0x80 == 0) || (bytes[n - 1] == 0xff && bytes[n - 2] & 0x80 != 0))
    {
        n -= 1;
    }
    let bytes = &bytes[..n];
    match n {
        0 => Value::Int(0),
        1..=8 => {
            let fill = if bytes[n - 1] & 0x80 != 0 { 0xff } else { 0 };
            let mut le = [fill; 8];
            le[..n].copy_from_slice(bytes);
            Value::Int(i64::from_le_bytes(le))
        }
        9 if bytes[8] == 0 => {
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[..8]);
            Value::UInt(u64::from_le_bytes(le))
        }
        _ => Value::BigInt,
    }
}

/// A writer of the pickles CPython's `pickle.Pickler(protocol=5)` writes for plain values in
/// fast mode (no memo), for the tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A Python value.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum P {
        None,
        Bool(bool),
        Int(i128),
        Float(f64),
        Str(String),
        Bytes(Vec<u8>),
        Tuple(Vec<P>),
        List(Vec<P>),
        Dict(Vec<(P, P)>),
    }

    /// `str`.
    pub(crate) fn s(text: &str) -> P {
        P::Str(text.into())
    }

    /// A dict of str keys.
    pub(crate) fn dict(entries: Vec<(&str, P)>) -> P {
        P::Dict(entries.into_iter().map(|(k, v)| (s(k), v)).collect())
    }

    /// The pickle of `value`, as CPython writes it (PROTO 5, one FRAME, STOP).
    pub(crate) fn dumps(value: &P) -> Vec<u8> {
        let mut body = Vec::new();
        write(value, &mut body);
        body.push(b'.');
        let mut out = vec![0x80, 5, 0x95];
        out.extend((body.len() as u64).to_le_bytes());
        out.extend(body);
        out
    }

    fn sized(out: &mut Vec<u8>, short: u8, long: u8, bytes: &[u8]) {
        if bytes.len() < 256 {
            out.extend([short, bytes.len() as u8]);
        } else {
            out.push(long);
            out.extend((bytes.len() as u32).to_le_bytes());
        }
        out.extend(bytes);
    }

    fn write(value: &P, out: &mut Vec<u8>) {
        match value {
            P::None => out.push(b'N'),
            P::Bool(b) => out.push(if *b { 0x88 } else { 0x89 }),
            P::Int(i) if (0..256).contains(i) => out.extend([b'K', *i as u8]),
            P::Int(i) if (0..65536).contains(i) => {
                out.push(b'M');
                out.extend((*i as u16).to_le_bytes());
            }
            P::Int(i) if i32::try_from(*i).is_ok() => {
                out.push(b'J');
                out.extend((*i as i32).to_le_bytes());
            }
            P::Int(i) => {
                // LONG1: the shortest little-endian two's complement.
                let mut bytes = i.to_le_bytes().to_vec();
                while bytes.len() > 1 {
                    let (last, prev) = (bytes[bytes.len() - 1], bytes[bytes.len() - 2]);
                    if (last == 0 && prev & 0x80 == 0) || (last == 0xff && prev & 0x80 != 0) {
                        bytes.pop();
                    } else {
                        break;
                    }
                }
                out.extend([0x8a, bytes.len() as u8]);
                out.extend(bytes);
            }
            P::Float(f) => {
                out.push(b'G');
                out.extend(f.to_be_bytes());
            }
            P::Str(text) => sized(out, 0x8c, b'X', text.as_bytes()),
            P::Bytes(bytes) => sized(out, b'C', b'B', bytes),
            P::Tuple(items) if items.is_empty() => out.push(b')'),
            P::Tuple(items) if items.len() <= 3 => {
                items.iter().for_each(|v| write(v, out));
                out.push(0x84 + items.len() as u8);
            }
            P::Tuple(items) => {
                out.push(b'(');
                items.iter().for_each(|v| write(v, out));
                out.push(b't');
            }
            P::List(items) => {
                out.push(b']');
                if let [item] = items.as_slice() {
                    write(item, out);
                    out.push(b'a');
                } else {
                    for chunk in items.chunks(1000) {
                        out.push(b'(');
                        chunk.iter().for_each(|v| write(v, out));
                        out.push(b'e');
                    }
                }
            }
            P::Dict(entries) => {
                out.push(b'}');
                if let [(k, v)] = entries.as_slice() {
                    write(k, out);
                    write(v, out);
                    out.push(b's');
                } else {
                    for chunk in entries.chunks(1000) {
                        out.push(b'(');
                        for (k, v) in chunk {
                            write(k, out);
                            write(v, out);
                        }
                        out.push(b'u');
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{dict, dumps, s, P};
    use super::*;

    /// `value` read back as a [`P`] (dict keys and values in order; big ints as `Int(i128::MAX)`).
    fn read(p: &Pickle<'_>, id: Id) -> P {
        match p.get(id) {
            Value::None => P::None,
            Value::Bool(b) => P::Bool(b),
            Value::Int(i) => P::Int(i.into()),
            Value::UInt(u) => P::Int(u.into()),
            Value::BigInt => P::Int(i128::MAX),
            Value::Float(f) => P::Float(f),
            Value::Str(text) => P::Str(text.into()),
            Value::Bytes(b) => P::Bytes(b.into()),
            Value::Tuple(_) => P::Tuple(p.seq(id).unwrap().map(|i| read(p, i)).collect()),
            Value::List(_) => P::List(p.seq(id).unwrap().map(|i| read(p, i)).collect()),
            Value::Dict(_) => {
                let items: Vec<Id> = p.dict(id).unwrap().collect();
                P::Dict(items.chunks(2).map(|kv| (read(p, kv[0]), read(p, kv[1]))).collect())
            }
        }
    }

    fn loads(bytes: &[u8]) -> Result<P, String> {
        let p = Pickle::parse(bytes)?;
        Ok(read(&p, p.root()))
    }

    fn err(bytes: &[u8]) -> String {
        loads(bytes).expect_err("refused")
    }

    /// PROTO 5 + `body` + STOP.
    fn raw(body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80, 5];
        out.extend(body);
        out.push(b'.');
        out
    }

    #[test]
    fn every_scalar_opcode_reads_its_value() {
        let cases: Vec<(&[u8], P)> = vec![
            (b"N", P::None),
            (b"\x88", P::Bool(true)),
            (b"\x89", P::Bool(false)),
            (b"K\xff", P::Int(255)),
            (b"M\x01\x02", P::Int(0x0201)),
            (b"J\xff\xff\xff\xff", P::Int(-1)),
            (b"\x8a\x00", P::Int(0)),
            (b"\x8a\x01\xff", P::Int(-1)),
            (b"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f", P::Int(i64::MAX.into())),
            (b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80", P::Int(i64::MIN.into())),
            (b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00", P::Int(1 << 63)),
            (b"\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00", P::Int(u64::MAX.into())),
            (b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01", P::Int(i128::MAX)),
            (b"\x8a\x03\x05\x00\x00", P::Int(5)),
            (b"\x8b\x02\x00\x00\x00\xfe\xff", P::Int(-2)),
            (
                b"\x8b\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
                P::Int(i128::MAX),
            ),
            (b"G\x3f\xf8\x00\x00\x00\x00\x00\x00", P::Float(1.5)),
            (b"\x8c\x03abc", s("abc")),
            (b"X\x02\x00\x00\x00\xc3\xa9", s("\u{e9}")),
            (b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00z", s("z")),
            (b"C\x02\x01\x02", P::Bytes(vec![1, 2])),
            (b"B\x01\x00\x00\x00\x07", P::Bytes(vec![7])),
            (b"\x8e\x00\x00\x00\x00\x00\x00\x00\x00", P::Bytes(vec![])),
            (b"\x96\x01\x00\x00\x00\x00\x00\x00\x00\x09", P::Bytes(vec![9])),
        ];
        for (body, expected) in cases {
            assert_eq!(loads(&raw(body)), Ok(expected), "{body:x?}");
        }
    }

    #[test]
    fn every_container_opcode_builds_its_container() {
        let cases: Vec<(&[u8], P)> = vec![
            (b")", P::Tuple(vec![])),
            (b"K\x01\x85", P::Tuple(vec![P::Int(1)])),
            (b"K\x01K\x02\x86", P::Tuple(vec![P::Int(1), P::Int(2)])),
            (b"K\x01K\x02K\x03\x87", P::Tuple(vec![P::Int(1), P::Int(2), P::Int(3)])),
            (b"(K\x01K\x02K\x03K\x04t", P::Tuple((1..=4).map(P::Int).collect())),
            (b"(t", P::Tuple(vec![])),
            (b"]", P::List(vec![])),
            (b"]K\x01a", P::List(vec![P::Int(1)])),
            (b"](K\x01K\x02e(e(K\x03e", P::List((1..=3).map(P::Int).collect())),
            (b"]K\x01aK\x02a", P::List(vec![P::Int(1), P::Int(2)])),
            (b"}", P::Dict(vec![])),
            (b"}\x8c\x01kNs", dict(vec![("k", P::None)])),
            (b"}(\x8c\x01bK\x01\x8c\x01aK\x02u", dict(vec![("b", P::Int(1)), ("a", P::Int(2))])),
            // Items added to a list whose runs are interleaved with another container's items.
            (b"](K\x01e)K\x02\x86\x94a", P::List(vec![P::Int(1), P::Tuple(vec![P::Tuple(vec![]), P::Int(2)])])),
        ];
        for (body, expected) in cases {
            assert_eq!(loads(&raw(body)), Ok(expected), "{body:x?}");
        }
    }

    #[test]
    fn frames_and_the_memo_are_read() {
        // FRAME of the rest; MEMOIZE, BINGET, LONG_BINGET; BINPUT and LONG_BINPUT in order.
        let rest = b"(\x8c\x01x\x94]\x94h\x00aj\x01\x00\x00\x00t";
        let mut body = vec![0x95];
        body.extend((rest.len() as u64 + 1).to_le_bytes()); // and STOP
        body.extend(rest);
        assert_eq!(loads(&raw(&body)), Ok(P::Tuple(vec![s("x"), P::List(vec![s("x")]), P::List(vec![s("x")])])),);
        assert_eq!(
            loads(&raw(b"(K\x07q\x00\x8c\x01yr\x01\x00\x00\x00h\x00h\x01t")),
            Ok(P::Tuple(vec![P::Int(7), s("y"), P::Int(7), s("y")]))
        );
        // A dict shared by two tuples is read twice, not copied.
        let p = Pickle::parse(b"\x80\x05(}\x94\x8c\x01kK\x01sh\x00t.").unwrap();
        let items: Vec<Id> = p.seq(p.root()).unwrap().collect();
        assert_eq!(items[0], items[1]);
    }

    #[test]
    fn the_writer_and_reader_agree() {
        let long = "é".repeat(300);
        let value = P::Tuple(vec![
            P::Int(1),
            P::List((0..2500).map(|i| P::Tuple(vec![P::Int(i), P::Int(-i * 70_000), P::Float(i as f64)])).collect()),
            P::Dict((0..1500).map(|i| (P::Str(format!("k{i}")), P::Bytes(vec![i as u8; i % 300]))).collect()),
            P::Str(long),
            P::Int(-(1 << 62) * 2),
            P::List(vec![P::List(vec![P::None]), P::Tuple(vec![]), P::Dict(vec![])]),
        ]);
        assert_eq!(loads(&dumps(&value)), Ok(value));
    }

    #[test]
    fn truncated_input_is_refused_at_every_length() {
        let whole = dumps(&P::Tuple(vec![
            P::Int(1),
            P::List(vec![s("a"), P::Bytes(vec![1; 300]), P::Int(1 << 40), P::Float(0.5)]),
            dict(vec![("k", P::Int(70_000))]),
        ]));
        for end in 0..whole.len() {
            let e = err(&whole[..end]);
            assert!(e.contains("truncated") || e.contains("without its STOP"), "{end}: {e}");
        }
        assert!(loads(&whole).is_ok());
    }

    #[test]
    fn hostile_lengths_are_refused_without_allocating_them() {
        for body in [
            &b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff"[..],
            b"\x8e\xff\xff\xff\xff\xff\xff\xff\x7f",
            b"X\xff\xff\xff\xff",
            b"B\xff\xff\xff\x7f",
            b"\x8b\xff\xff\xff\x7f",
            b"\x95\xff\xff\xff\xff\xff\xff\xff\xff",
        ] {
            let e = err(&raw(body));
            assert!(e.contains("truncated") || e.contains("does not fit"), "{body:x?}: {e}");
        }
        assert!(err(&raw(b"\x8b\xff\xff\xff\xff")).contains("negative length"));
    }

    #[test]
    fn malformed_stacks_are_refused() {
        let cases: [(&[u8], &str); 16] = [
            (b"", "one value"),
            (b"K\x01K\x02", "2 values"),
            (b"(K\x01", "marks left"),
            (b"\x85", "TUPLE1 with fewer"),
            (b"(K\x01\x86", "TUPLE2 with fewer"),
            (b"t", "without a MARK"),
            (b"a", "too few values"),
            (b"K\x01K\x02a", "not a list"),
            (b"]K\x01s", "too few values"),
            (b"]K\x01K\x02s", "not a dict"),
            (b"}(K\x01u", "a key and no value"),
            (b"(e", "no container below its mark"),
            (b"]((K\x01e", "no container below its mark"),
            (b"\x94", "no value on the stack"),
            (b"h\x00", "memo 0, never stored"),
            (b"K\x01q\x05", "stores memo 5 before memo 0"),
        ];
        for (body, expected) in cases {
            let e = err(&raw(body));
            assert!(e.contains(expected), "{body:x?}: {e}");
        }
        assert!(err(b"\x80\x06N.").contains("protocol 6"));
        assert!(err(&raw(b"\x8c\x01\xff")).contains("not valid UTF-8"));
        // A lone surrogate, as Python pickles it ('surrogatepass').
        assert!(err(&raw(b"\x8c\x03\xed\xb2\x80")).contains("not valid UTF-8"));
    }

    #[test]
    fn opcodes_that_are_not_plain_data_are_refused() {
        // GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, INST, OBJ, PERSID, BINPERSID,
        // EXT1, sets, out-of-band buffers, the text opcodes of protocol 0, POP, DUP, POP_MARK.
        for op in [
            b'c', 0x93, b'R', b'b', 0x81, 0x92, b'i', b'o', b'P', b'Q', 0x82, 0x8f, 0x90, 0x91, 0x97, 0x98, b'I', b'L',
            b'F', b'S', b'V', b'T', b'U', b'l', b'd', b'p', b'g', b'0', b'1', b'2',
        ] {
            let e = err(&raw(&[op]));
            assert!(e.contains("is not plain data"), "0x{op:02x}: {e}");
        }
        let set = err(b"\x80\x04\x8f\x94(K\x01\x90.");
        assert!(set.contains("0x8f is not plain data"), "{set}");
    }

    #[test]
    fn nesting_is_bounded_without_recursing() {
        let nested = |depth: usize| {
            let mut body = vec![b']'; depth];
            body.extend(std::iter::repeat_n(b'a', depth - 1));
            raw(&body)
        };
        assert!(loads(&nested(MAX_PICKLE_DEPTH as usize)).is_ok());
        for depth in [MAX_PICKLE_DEPTH as usize + 1, 100_000, 1_000_000] {
            assert!(err(&nested(depth)).contains("deeper than"), "{depth}");
        }
        // Tuples and dicts count as levels too.
        let mut tuples = b"N".to_vec();
        tuples.extend(std::iter::repeat_n(0x85, MAX_PICKLE_DEPTH as usize + 1));
        assert!(err(&raw(&tuples)).contains("deeper than"));
        // {"k": {"k": ... {"k": None}}}: key and dict pairs, then SETITEM from the innermost out.
        let levels = MAX_PICKLE_DEPTH as usize + 1;
        let mut body = b"}\x8c\x01k".repeat(levels);
        body.push(b'N');
        body.extend(std::iter::repeat_n(b's', levels));
        let e = err(&raw(&body));
        assert!(e.contains("deeper than"), "{e}");
    }

    #[test]
    fn memo_references_cannot_build_cycles_or_hide_nesting() {
        // 100 memoized empty lists, then list i appended into list i - 1 through memo references:
        // each append changes a list already put into another one.
        let mut body = Vec::new();
        for _ in 0..100 {
            body.extend([b']', 0x94, b'0']);
        }
        assert!(err(&raw(&body)).contains("is not plain data"), "POP is not written by the pickler");
        let mut body = b"]\x94".to_vec();
        body.extend(b"h\x00a"); // the list into itself
        assert!(err(&raw(&body)).contains("changes a container after putting it into another"));
        let mut body = b"]\x94]\x94h\x00a".to_vec(); // list 0 into list 1...
        body.extend(b"h\x01h\x00\x86"); // ...then (list 1, list 0): list 0 is frozen...
        body.extend(b"h\x00K\x01a"); // ...and appended to
        assert!(err(&raw(&body)).contains("changes a container after putting it into another"));
    }

    #[test]
    fn memo_references_cannot_expand_the_batch_exponentially() {
        // l0 = [x]; l(i+1) = [l(i), l(i)]: 6 bytes per level, 2^levels values.
        let mut body = b"]\x8c\x01xa\x94".to_vec();
        for i in 0..60u32 {
            body.extend(b"](j");
            body.extend(i.to_le_bytes());
            body.push(b'j');
            body.extend(i.to_le_bytes());
            body.extend(b"e\x94");
        }
        let e = err(&raw(&body));
        assert!(e.contains("times the size of its bytes"), "{e}");
        // Sharing within the bound is read.
        let shared = b"(\x8c\x10sixteen-bytes!!!\x94h\x00h\x00h\x00t";
        assert_eq!(loads(&raw(shared)).unwrap(), P::Tuple(vec![s("sixteen-bytes!!!"); 4]));
    }
}

/// Pickles written by the real CPython (`python3` on the PATH), read back.
#[cfg(test)]
mod cpython {
    use super::*;

    /// Random plain values, each pickled with protocols 4 and 5, with and without the memo
    /// (sharing objects), one `hex(pickle) TAB canonical form` line each.
    const SCRIPT: &str = r#"
import io, pickle, random, struct
rng = random.Random(7)
def text():
    n = rng.choice([0, 1, 5, 200, 300] * 40 + [70000])
    return "".join(rng.choice("az\u00e9\u4e2d\U0001f600") for _ in range(n))
def scalar():
    k = rng.randrange(8)
    if k == 0: return None
    if k == 1: return rng.random() < 0.5
    if k == 2: return rng.choice([0, 1, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, -2**31, 2**31,
                                  2**63 - 1, -2**63, 2**63, 2**64 - 1, 2**64, -2**63 - 1, 10**40, 2**3000,
                                  rng.randrange(-2**70, 2**70)])
    if k == 3: return rng.choice([0.0, -0.0, 1.5, float("inf"), float("-inf"), float("nan"), rng.random()])
    if k == 4: return text()
    if k == 5: return bytes(rng.randrange(256) for _ in range(rng.choice([0, 8, 16, 300])))
    return rng.randrange(10)
def value(depth, shared):
    k = rng.randrange(6) if depth < 4 else 0
    if k <= 1: return scalar()
    if k == 2 and shared: return rng.choice(shared)
    n = rng.choice([0, 1, 2, 3, 4, 7] * 4 + [1001, 2500]) if depth == 0 else rng.choice([0, 1, 2, 3])
    items = [value(depth + 1, shared) for _ in range(n)]
    if k == 3: return tuple(items)
    if k == 4: return items
    d = {}
    for i, v in enumerate(items):
        d[text() if i % 2 else i] = v
    return d
def canon(v):
    if v is None: return "N"
    if v is True: return "T"
    if v is False: return "F"
    if isinstance(v, int): return f"i{v}" if -2**63 <= v < 2**64 else "big"
    if isinstance(v, float): return "f" + struct.pack(">d", v).hex()
    if isinstance(v, str): return "s" + v.encode().hex()
    if isinstance(v, bytes): return "b" + v.hex()
    if isinstance(v, tuple): return "(" + ",".join(map(canon, v)) + ")"
    if isinstance(v, list): return "[" + ",".join(map(canon, v)) + "]"
    return "{" + ",".join(canon(k) + ":" + canon(x) for k, x in v.items()) + "}"
# The last: more than 256 memo entries referenced again (LONG_BINGET).
strings = [str(i) for i in range(300)]
for i in range(101):
    shared = [value(3, []) for _ in range(3)]
    v = value(0, shared) if i < 100 else (strings, list(strings))
    for protocol in (4, 5):
        for fast in (True, False):
            buf = io.BytesIO()
            p = pickle.Pickler(buf, protocol=protocol)
            p.fast = fast
            p.dump(v)
            print(buf.getvalue().hex() + "\t" + canon(v))
"#;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn canon(p: &Pickle<'_>, id: Id, out: &mut String) {
        let join = |items: Items<'_>, out: &mut String, sep: &dyn Fn(usize) -> &'static str| {
            for (i, item) in items.enumerate() {
                if i > 0 {
                    out.push_str(sep(i));
                }
                canon(p, item, out);
            }
        };
        match p.get(id) {
            Value::None => out.push('N'),
            Value::Bool(b) => out.push(if b { 'T' } else { 'F' }),
            Value::Int(i) => out.push_str(&format!("i{i}")),
            Value::UInt(u) => out.push_str(&format!("i{u}")),
            Value::BigInt => out.push_str("big"),
            Value::Float(f) => out.push_str(&format!("f{}", hex(&f.to_be_bytes()))),
            Value::Str(s) => out.push_str(&format!("s{}", hex(s.as_bytes()))),
            Value::Bytes(b) => out.push_str(&format!("b{}", hex(b))),
            Value::Tuple(_) => {
                out.push('(');
                join(p.seq(id).unwrap(), out, &|_| ",");
                out.push(')');
            }
            Value::List(_) => {
                out.push('[');
                join(p.seq(id).unwrap(), out, &|_| ",");
                out.push(']');
            }
            Value::Dict(_) => {
                out.push('{');
                join(p.dict(id).unwrap(), out, &|i| if i % 2 == 1 { ":" } else { "," });
                out.push('}');
            }
        }
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn pickles_of_cpython_are_read_as_python_wrote_them() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let out = std::process::Command::new(&python)
            .args(["-c", SCRIPT])
            .output()
            .unwrap_or_else(|e| panic!("{python} (needed to write the fixtures): {e}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = String::from_utf8(out.stdout).expect("ascii");
        let mut count = 0;
        for line in lines.lines() {
            let (pickle, expected) = line.split_once('\t').expect("two columns");
            let bytes = unhex(pickle);
            let parsed = Pickle::parse(&bytes).unwrap_or_else(|e| panic!("{e}: {pickle:.200}"));
            let mut got = String::new();
            canon(&parsed, parsed.root(), &mut got);
            assert!(got == expected, "{pickle:.200}:\n got {got:.300}\nwant {expected:.300}");
            count += 1;
        }
        assert_eq!(count, 404);
    }
}
