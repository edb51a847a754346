//! A linear pre-scan of a pickle that bounds its nesting before serde-pickle sees it.
//!
//! serde-pickle builds the whole value tree first and then walks (and drops) it recursively, so a
//! hostile batch of 100,000 nested lists would overflow the stack. This scan runs the pickle's
//! opcodes over a stack of nesting depths only (no values), in one pass and without recursion,
//! and refuses:
//! - a container nested deeper than [`MAX_PICKLE_DEPTH`];
//! - an opcode that is not plain data (class references, `REDUCE`, out-of-band buffers...): the
//!   batch format is builtins only (BATCH_FORMAT.md);
//! - a container changed after it was put into another one (Python's pickler never does that;
//!   it is how a memo reference could otherwise hide nesting from the scan, or build a cycle).
//!
//! It does not validate anything else: serde-pickle still decodes and checks the bytes.

use std::collections::HashMap;

/// The deepest container nesting a batch may have: an attribute value of
/// [`MAX_VALUE_DEPTH`](opentelemetry_parquet::MAX_VALUE_DEPTH) levels inside the deepest place
/// of the batch layout (an exemplar's attributes: 12 containers), with room to spare. The core
/// then applies its exact limit to the attribute values.
pub(crate) const MAX_PICKLE_DEPTH: u32 = opentelemetry_parquet::MAX_VALUE_DEPTH as u32 + 16;

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// A scalar (or a reference to a container, by index into `Scan::containers`).
    Leaf,
    Container(usize),
    Mark,
}

#[derive(Debug)]
struct Container {
    depth: u32,
    /// Put into another container (or immutable from the start, as a tuple).
    frozen: bool,
}

#[derive(Debug, Default)]
struct Scan {
    stack: Vec<Entry>,
    containers: Vec<Container>,
    memo: HashMap<u64, Entry>,
}

/// Checks the nesting of `bytes` (see the module docs); the error says why it was refused.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    let mut scan = Scan::default();
    let mut pos = 0usize;
    loop {
        let Some(&op) = bytes.get(pos) else {
            return Err("the pickle ends without its STOP opcode".into());
        };
        pos += 1;
        let arg = |n: usize| -> Result<&[u8], String> {
            bytes.get(pos..pos + n).ok_or_else(|| format!("the pickle is truncated in opcode 0x{op:02x}"))
        };
        let len_arg = |width: usize| -> Result<usize, String> {
            let raw = arg(width)?;
            let mut le = [0u8; 8];
            le[..width].copy_from_slice(raw);
            usize::try_from(u64::from_le_bytes(le)).map_err(|_| "a pickle length does not fit in memory".to_owned())
        };
        let line = || -> Result<usize, String> {
            bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + 1)
                .ok_or_else(|| format!("the pickle is truncated in opcode 0x{op:02x}"))
        };
        // Bytes of argument to skip, after the stack effect below.
        let mut skip = 0usize;
        match op {
            b'.' => return if scan.stack.len() == 1 { Ok(()) } else { Err("malformed pickle stack at STOP".into()) },
            // PROTO, BININT1, SHORT_BINSTRING/SHORT_BINBYTES/SHORT_BINUNICODE (1-byte length).
            0x80 => skip = 1,
            0x95 => skip = 8, // FRAME
            b'K' => {
                skip = 1;
                scan.stack.push(Entry::Leaf);
            }
            b'M' => {
                skip = 2;
                scan.stack.push(Entry::Leaf);
            }
            b'J' => {
                skip = 4;
                scan.stack.push(Entry::Leaf);
            }
            b'G' => {
                skip = 8;
                scan.stack.push(Entry::Leaf);
            }
            b'N' | 0x88 | 0x89 => scan.stack.push(Entry::Leaf),
            // INT, LONG, FLOAT, STRING, UNICODE: a text line.
            b'I' | b'L' | b'F' | b'S' | b'V' => {
                skip = line()?;
                scan.stack.push(Entry::Leaf);
            }
            b'U' | b'C' | 0x8c | 0x8a => {
                skip = 1 + len_arg(1)?;
                scan.stack.push(Entry::Leaf);
            }
            b'T' | b'X' | b'B' | 0x8b => {
                skip = 4 + len_arg(4)?;
                scan.stack.push(Entry::Leaf);
            }
            0x8d | 0x8e | 0x96 => {
                skip = 8 + len_arg(8)?;
                scan.stack.push(Entry::Leaf);
            }
            b'(' => scan.stack.push(Entry::Mark),
            b'0' => {
                scan.pop()?;
            }
            b'1' => {
                scan.pop_mark()?;
            }
            b'2' => {
                let top = *scan.stack.last().ok_or("pickle stack underflow")?;
                scan.stack.push(top);
            }
            // Memo: PUT (line), BINPUT (1), LONG_BINPUT (4), MEMOIZE.
            b'p' | b'q' | b'r' | 0x94 => {
                let top = *scan.stack.last().ok_or("pickle stack underflow")?;
                let id = match op {
                    b'p' => {
                        skip = line()?;
                        memo_id(&bytes[pos..pos + skip])?
                    }
                    b'q' => {
                        skip = 1;
                        u64::from(arg(1)?[0])
                    }
                    b'r' => {
                        skip = 4;
                        len_arg(4)? as u64
                    }
                    _ => scan.memo.len() as u64,
                };
                scan.memo.insert(id, top);
            }
            // GET (line), BINGET (1), LONG_BINGET (4).
            b'g' | b'h' | b'j' => {
                let id = match op {
                    b'g' => {
                        skip = line()?;
                        memo_id(&bytes[pos..pos + skip])?
                    }
                    b'h' => {
                        skip = 1;
                        u64::from(arg(1)?[0])
                    }
                    _ => {
                        skip = 4;
                        len_arg(4)? as u64
                    }
                };
                let entry =
                    *scan.memo.get(&id).ok_or_else(|| format!("the pickle references memo {id}, never stored"))?;
                scan.stack.push(entry);
            }
            // EMPTY_LIST, EMPTY_DICT, EMPTY_SET: mutable; EMPTY_TUPLE: final.
            b']' | b'}' | 0x8f => scan.push_container(1, false)?,
            b')' => scan.push_container(1, true)?,
            // TUPLE1..3.
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut depth = 0;
                for _ in 0..n {
                    let item = scan.pop()?;
                    depth = depth.max(scan.nest(item)?);
                }
                scan.push_container(depth + 1, true)?;
            }
            // TUPLE, LIST, DICT, FROZENSET from the mark.
            b't' | b'l' | b'd' | 0x91 => {
                let items = scan.pop_mark()?;
                let mut depth = 0;
                for item in items {
                    depth = depth.max(scan.nest(item)?);
                }
                scan.push_container(depth + 1, op == b't' || op == 0x91)?;
            }
            // APPEND, SETITEM: one or two items into the container below them.
            b'a' | b's' => {
                let mut depth = 0;
                for _ in 0..if op == b'a' { 1 } else { 2 } {
                    let item = scan.pop()?;
                    depth = depth.max(scan.nest(item)?);
                }
                scan.grow_top(depth)?;
            }
            // APPENDS, SETITEMS, ADDITEMS: the items since the mark.
            b'e' | b'u' | 0x90 => {
                let items = scan.pop_mark()?;
                let mut depth = 0;
                for item in items {
                    depth = depth.max(scan.nest(item)?);
                }
                scan.grow_top(depth)?;
            }
            other => {
                return Err(format!(
                    "pickle opcode 0x{other:02x} is not plain data (class references, objects and out-of-band \
                     buffers are not part of the batch format)"
                ))
            }
        }
        pos += skip;
        if pos > bytes.len() {
            return Err(format!("the pickle is truncated in opcode 0x{op:02x}"));
        }
    }
}

fn memo_id(line: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| "malformed memo index in the pickle".to_owned())
}

impl Scan {
    fn pop(&mut self) -> Result<Entry, String> {
        match self.stack.pop() {
            Some(Entry::Mark) | None => Err("pickle stack underflow".into()),
            Some(entry) => Ok(entry),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Entry>, String> {
        let mark =
            self.stack.iter().rposition(|e| matches!(e, Entry::Mark)).ok_or("pickle stack underflow (no mark)")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn push_container(&mut self, depth: u32, frozen: bool) -> Result<(), String> {
        check_depth(depth)?;
        self.containers.push(Container { depth, frozen });
        self.stack.push(Entry::Container(self.containers.len() - 1));
        Ok(())
    }

    /// Freezes an item being put into a container; its depth.
    fn nest(&mut self, item: Entry) -> Result<u32, String> {
        match item {
            Entry::Leaf => Ok(0),
            Entry::Container(i) => {
                let c = &mut self.containers[i];
                c.frozen = true;
                Ok(c.depth)
            }
            Entry::Mark => Err("pickle stack underflow".into()),
        }
    }

    /// The container on top of the stack now holds an item `child_depth` deep.
    fn grow_top(&mut self, child_depth: u32) -> Result<(), String> {
        let Some(&Entry::Container(i)) = self.stack.last() else {
            return Err("the pickle appends to something that is not a list, dict or set".into());
        };
        let c = &mut self.containers[i];
        if c.frozen {
            return Err("the pickle changes a container after putting it into another one (a cycle or a shared \
                 reference, not plain data)"
                .into());
        }
        c.depth = c.depth.max(child_depth + 1);
        check_depth(c.depth)
    }
}

fn check_depth(depth: u32) -> Result<(), String> {
    if depth > MAX_PICKLE_DEPTH {
        return Err(format!("the batch nests containers deeper than {MAX_PICKLE_DEPTH} levels"));
    }
    Ok(())
}
