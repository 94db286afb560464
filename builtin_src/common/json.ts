// Small JSON helpers over raw UTF-8 bytes (the hook input) and over config values.
//
// The host always sends well-formed JSON (Python's json.dumps), but nothing here trusts that:
// every loop is bounded by the input length and malformed input ends a walk, never a trap.

export const QUOTE: u8 = 0x22;
export const BACKSLASH: u8 = 0x5c;

@inline export function byteAt(p: usize, i: i32): u8 {
  return load<u8>(p + <usize>i);
}

export function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

// `i` is just after an opening quote; returns the index of the closing quote (or n).
export function skipString(p: usize, i: i32, n: i32): i32 {
  while (i < n) {
    const c = byteAt(p, i);
    if (c == QUOTE) return i;
    i += c == BACKSLASH ? 2 : 1;
  }
  return n;
}

// Index just past a number / true / false / null starting at i.
export function skipScalar(p: usize, i: i32, n: i32): i32 {
  while (i < n) {
    const c = byteAt(p, i);
    if (c == 0x2c || c == 0x7d || c == 0x5d || c == 0x3a || isSpace(c)) return i;
    i++;
  }
  return n;
}

// Whether bytes [start, end) are exactly the ASCII text `lit`.
export function bytesEqual(p: usize, start: i32, end: i32, lit: string): bool {
  if (end - start != lit.length) return false;
  for (let k = 0; k < lit.length; k++) {
    if (<i32>byteAt(p, start + k) != lit.charCodeAt(k)) return false;
  }
  return true;
}

function hexValue(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  return -1;
}

// The text of the JSON string body [start, end) with its escapes resolved.
export function decodeString(p: usize, start: i32, end: i32): string {
  let plain = true;
  for (let i = start; i < end; i++) if (byteAt(p, i) == BACKSLASH) { plain = false; break; }
  if (plain) return String.UTF8.decodeUnsafe(p + <usize>start, <usize>(end - start));
  let out = "";
  let run = start;
  let i = start;
  while (i < end) {
    if (byteAt(p, i) != BACKSLASH) { i++; continue; }
    out += String.UTF8.decodeUnsafe(p + <usize>run, <usize>(i - run));
    const e = i + 1 < end ? byteAt(p, i + 1) : <u8>0;
    if (e == 0x6e) out += "\n";
    else if (e == 0x74) out += "\t";
    else if (e == 0x72) out += "\r";
    else if (e == 0x62) out += "\b";
    else if (e == 0x66) out += "\f";
    else if (e == 0x75 && i + 5 < end) {
      let code = 0;
      for (let k = 2; k < 6; k++) {
        const h = hexValue(byteAt(p, i + k));
        code = h < 0 ? 0xfffd : (code << 4) | h;
        if (h < 0) break;
      }
      out += String.fromCharCode(code);
      i += 4;
    } else if (e != 0) out += String.fromCharCode(e);
    i += 2;
    run = i;
  }
  if (run < end) out += String.UTF8.decodeUnsafe(p + <usize>run, <usize>(end - run));
  return out;
}

// The string value of `data.<name>` in a hook input {"event": ..., "data": {...}}, or null.
// Only the envelope's own keys count: a `tool_name` inside the arguments is not the tool's name.
export function dataField(p: usize, n: i32, name: string): string | null {
  let depth = 0;
  let inData = false;       // the depth-1 key being read is "data"
  let awaitingKey = false;  // the next string in the current object is a key
  let wanted = false;       // the depth-2 key just read is `name`
  let i = 0;
  while (i < n) {
    const c = byteAt(p, i);
    if (c == 0x7b) { depth++; awaitingKey = true; i++; continue; }
    if (c == 0x5b) { depth++; awaitingKey = false; i++; continue; }
    if (c == 0x7d || c == 0x5d) {
      depth--;
      if (depth <= 0) return null;
      awaitingKey = false;
      i++;
      continue;
    }
    if (c == 0x2c) {
      // only objects have keys; in arrays a comma is followed by a value (depth 1 and 2 are objects here)
      awaitingKey = depth <= 2 || awaitingKey;
      i++;
      continue;
    }
    if (c == QUOTE) {
      const start = i + 1;
      const end = skipString(p, start, n);
      if (awaitingKey && depth <= 2) {
        if (depth == 1) inData = bytesEqual(p, start, end, "data");
        else wanted = inData && bytesEqual(p, start, end, name);
        awaitingKey = false;
      } else if (depth == 2 && inData && wanted) {
        return decodeString(p, start, end);
      }
      i = end + 1;
      continue;
    }
    if (c == 0x3a || isSpace(c)) { i++; continue; }
    if (depth == 2 && inData && wanted) return null; // the field is not a string
    i = skipScalar(p, i, n);
    if (i == n) break;
  }
  return null;
}

// -- config values (Extism config values are strings: JSON for lists and objects) ---------------

// The names in a config value: a JSON list of strings, or a comma/space separated list.
export function nameList(text: string | null): string[] {
  const out = new Array<string>();
  if (text === null) return out;
  let word = "";
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    const part = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
      c == 95 || c == 45 || c == 47 || c == 46 || c == 58;
    if (part) { word += String.fromCharCode(c); continue; }
    if (word.length > 0) out.push(word);
    word = "";
  }
  return out;
}

// A JSON object of name -> integer from a config value; entries that are not integers are
// reported through `bad` (their names) and left out.
export class IntMap {
  keys: string[] = [];
  values: i64[] = [];
  bad: string[] = [];

  get(key: string): i64 {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.values[i];
    return -1;
  }
}

export function intMap(text: string | null): IntMap {
  const out = new IntMap();
  if (text === null) return out;
  const bytes = String.UTF8.encode(text);
  const p = changetype<usize>(bytes);
  const n = bytes.byteLength;
  let i = 0;
  while (i < n && byteAt(p, i) != 0x7b) i++;
  i++;
  while (i < n) {
    const c = byteAt(p, i);
    if (c != QUOTE) { if (c == 0x7d) break; i++; continue; }
    const kStart = i + 1;
    const kEnd = skipString(p, kStart, n);
    const key = decodeString(p, kStart, kEnd);
    i = kEnd + 1;
    while (i < n && (isSpace(byteAt(p, i)) || byteAt(p, i) == 0x3a)) i++;
    let value: i64 = 0;
    let digits = 0;
    let negative = false;
    if (i < n && byteAt(p, i) == 0x2d) { negative = true; i++; }
    while (i < n && byteAt(p, i) >= 0x30 && byteAt(p, i) <= 0x39 && digits < 15) {
      value = value * 10 + <i64>(byteAt(p, i) - 0x30);
      digits++;
      i++;
    }
    const after = i < n ? byteAt(p, i) : <u8>0x7d;
    const isInt = digits > 0 && !negative && (after == 0x2c || after == 0x7d || isSpace(after));
    if (isInt) { out.keys.push(key); out.values.push(value); }
    else {
      out.bad.push(key);
      // skip the value: a string, or anything up to the next comma at this level
      if (i < n && byteAt(p, i) == QUOTE) i = skipString(p, i + 1, n) + 1;
      while (i < n && byteAt(p, i) != 0x2c && byteAt(p, i) != 0x7d) i++;
    }
    while (i < n && byteAt(p, i) != 0x2c && byteAt(p, i) != 0x7d) i++;
    if (i < n && byteAt(p, i) == 0x7d) break;
    i++;
  }
  return out;
}

export function parseCount(text: string | null, fallback: i64): i64 {
  if (text === null) return fallback;
  let value: i64 = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 32 || c == 34) continue; // a JSON number or a quoted one
    if (c < 48 || c > 57 || digits >= 15) return fallback;
    value = value * 10 + <i64>(c - 48);
    digits++;
  }
  return digits > 0 ? value : fallback;
}
