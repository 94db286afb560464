// Aleph built-in plugin "secret-guard": blocks a tool call whose arguments carry something that
// looks like a credential (private key blocks, cloud access keys, common token prefixes).
//
// One pass over the hook input's bytes: a small JSON walker keeps the path to the current value
// (object keys and array indexes, as offsets into the input — nothing is copied), and the strings
// of `data.arguments` (or Claude's `data.tool_input`) are read 16 bytes at a time; the detectors
// run only where a secret could start. The answer names the kind of secret and the argument path,
// never the secret or any part of it.
import { blockAnswer, configValue, inputPtr, log, readInput } from "../../common/io";
import { BACKSLASH, QUOTE, byteAt, bytesEqual, isSpace, nameList, skipScalar, skipString } from "../../common/json";
import {
  ALNUM, AWS_SECRET_ACCESS_KEY, KIND_IDS, KIND_LABELS, TRIGGER_ANYWHERE, TRIGGER_AT_WORD,
  TRIGGER_HIGH, TRIGGER_LOW, classOf, detectAt, initTable, isAwsSecretName, isAwsSecretValue,
} from "./detectors";

const OBJECT: u8 = 1;
const ARRAY: u8 = 2;
const MAX_DEPTH = 1024;
const PATH_KEY_MAX = 40; // characters of one key shown in a path
const PATH_PARTS_MAX = 12; // path parts shown (the deepest ones)

// One frame per open object / array: its kind, whether its next string is a key, the current key
// (as input offsets) or array index, and flags about that key.
const frameKind = new StaticArray<u8>(MAX_DEPTH + 1);
const frameAwaitingKey = new StaticArray<u8>(MAX_DEPTH + 1);
const frameKeyStart = new StaticArray<i32>(MAX_DEPTH + 1);
const frameKeyEnd = new StaticArray<i32>(MAX_DEPTH + 1);
const frameIndex = new StaticArray<i32>(MAX_DEPTH + 1);
const frameAwsName = new StaticArray<u8>(MAX_DEPTH + 1); // the key names an AWS secret key
const frameHiddenKey = new StaticArray<u8>(MAX_DEPTH + 1); // the key itself looks like a secret

let ready = false;
let allowMask: u32 = 0;

// The first finding of the current call.
let foundKind = -1;
let foundDepth = 0;
let foundInKey = false;
let tooDeep = false;

// Result of scanString: the first not-allowed kind (or -1) and whether any detector matched.
let stringKind = -1;
let stringMatched = false;

function setup(): void {
  initTable();
  const names = nameList(configValue("allow_kinds"));
  for (let k = 0; k < names.length; k++) {
    const index = KIND_IDS.indexOf(names[k]);
    if (index >= 0) allowMask |= (<u32>1) << index;
    else log("warning", "allow_kinds names '" + names[k].slice(0, 40) + "', which is not a detector; known: " +
      KIND_IDS.join(", "));
  }
  ready = true;
}

// Scans the string body starting at i (just after its opening quote); returns the closing quote's index.
//
// Sixteen bytes at a time (WebAssembly SIMD): one mask of the bytes that need a look — the quote
// that ends the string, an escape, '-' / '=' / ':', and the first byte of a word when it is a
// letter some token starts with. A chunk of ordinary text has none and costs a dozen instructions.
function scanString(p: usize, i: i32, n: i32): i32 {
  stringKind = -1;
  stringMatched = false;
  const first = i;
  let afterAlnum = 0; // 1 when the byte before i is a letter or digit (i is inside a word)
  const quote = i8x16.splat(<i8>QUOTE);
  const backslash = i8x16.splat(<i8>BACKSLASH);
  const dash = i8x16.splat(0x2d);
  const equals = i8x16.splat(0x3d);
  const colon = i8x16.splat(0x3a);
  const lowNibbles = v128.load(TRIGGER_LOW);
  const highNibbles = v128.load(TRIGGER_HIGH);
  while (i + 16 <= n) {
    const v = v128.load(p + <usize>i);
    const special = v128.or(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)),
      v128.or(i8x16.eq(v, dash), i8x16.eq(v, equals))), i8x16.eq(v, colon));
    const letter = i8x16.lt_u(i8x16.sub(v128.or(v, i8x16.splat(0x20)), i8x16.splat(0x61)), i8x16.splat(26));
    const digit = i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x30)), i8x16.splat(10));
    const trigger = v128.and(i8x16.swizzle(lowNibbles, v128.and(v, i8x16.splat(0x0f))),
      i8x16.swizzle(highNibbles, i8x16.shr_u(v, 4)));
    const alnum = i8x16.bitmask(v128.or(letter, digit));
    const wordStarts = alnum & ~((alnum << 1) | afterAlnum);
    let hits = i8x16.bitmask(special) | (i8x16.bitmask(i8x16.ne(trigger, i8x16.splat(0))) & wordStarts);
    let resync = false;
    while (hits != 0) {
      const at = i + ctz(hits);
      const c = byteAt(p, at);
      if (c == QUOTE) return at;
      if (c == BACKSLASH) { // \uXXXX or \n, \", ...: continue after it, at a word boundary
        i = at + (at + 1 < n && byteAt(p, at + 1) == 0x75 ? 6 : 2);
        afterAlnum = 0;
        resync = true;
        break;
      }
      const kind = detectAt(p, at, n, c, first);
      if (kind >= 0) {
        stringMatched = true;
        if ((allowMask & ((<u32>1) << kind)) == 0) {
          stringKind = kind;
          return skipString(p, at, n);
        }
      }
      hits &= hits - 1;
    }
    if (!resync) {
      afterAlnum = (alnum >> 15) & 1;
      i += 16;
    }
  }
  // the last few bytes, one at a time
  let boundary = afterAlnum == 0;
  while (i < n) {
    const c = byteAt(p, i);
    if (c == QUOTE) return i;
    if (c == BACKSLASH) {
      i += i + 1 < n && byteAt(p, i + 1) == 0x75 ? 6 : 2;
      boundary = true;
      continue;
    }
    const cls = classOf(c);
    if ((cls & TRIGGER_ANYWHERE) != 0 || ((cls & TRIGGER_AT_WORD) != 0 && boundary)) {
      const kind = detectAt(p, i, n, c, first);
      if (kind >= 0) {
        stringMatched = true;
        if ((allowMask & ((<u32>1) << kind)) == 0) {
          stringKind = kind;
          return skipString(p, i, n);
        }
      }
    }
    boundary = (cls & ALNUM) == 0;
    i++;
  }
  return n;
}

// Walks the input; returns true when a secret was found (see foundKind / foundDepth / foundInKey).
function scan(p: usize, n: i32): bool {
  foundKind = -1;
  foundInKey = false;
  tooDeep = false;
  let depth = 0;
  let zone = 0; // depth of the `data` object while its current key is arguments / tool_input
  let i = 0;
  while (i < n) {
    const c = byteAt(p, i);
    if (c == QUOTE) {
      const start = i + 1;
      const isKey = depth > 0 && unchecked(frameAwaitingKey[depth]) != 0;
      const inZone = zone > 0 && (isKey ? depth > zone : depth >= zone);
      const end = inZone ? scanString(p, start, n) : skipString(p, start, n);
      if (inZone && stringKind >= 0) {
        foundKind = stringKind;
        foundDepth = depth;
        foundInKey = isKey;
        return true;
      }
      if (isKey) {
        unchecked(frameAwaitingKey[depth] = 0);
        unchecked(frameKeyStart[depth] = start);
        unchecked(frameKeyEnd[depth] = end);
        unchecked(frameHiddenKey[depth] = inZone && stringMatched ? 1 : 0);
        unchecked(frameAwsName[depth] = inZone && isAwsSecretName(p, start, end) ? 1 : 0);
        if (depth == 2) {
          const isArgs = bytesEqual(p, start, end, "arguments") || bytesEqual(p, start, end, "tool_input");
          zone = isArgs && bytesEqual(p, unchecked(frameKeyStart[1]), unchecked(frameKeyEnd[1]), "data") ? 2 : 0;
        }
      } else if (inZone && depth > 0 && unchecked(frameKind[depth]) == OBJECT && unchecked(frameAwsName[depth]) != 0 &&
                 (allowMask & ((<u32>1) << AWS_SECRET_ACCESS_KEY)) == 0 && isAwsSecretValue(p, start, end)) {
        foundKind = AWS_SECRET_ACCESS_KEY;
        foundDepth = depth;
        return true;
      }
      i = end + 1;
      continue;
    }
    if (c == 0x7b || c == 0x5b) { // { [
      if (depth >= MAX_DEPTH) {
        tooDeep = true;
        return false;
      }
      depth++;
      unchecked(frameKind[depth] = c == 0x7b ? OBJECT : ARRAY);
      unchecked(frameAwaitingKey[depth] = c == 0x7b ? 1 : 0);
      unchecked(frameIndex[depth] = 0);
      unchecked(frameKeyStart[depth] = 0);
      unchecked(frameKeyEnd[depth] = 0);
      unchecked(frameAwsName[depth] = 0);
      unchecked(frameHiddenKey[depth] = 0);
      i++;
      continue;
    }
    if (c == 0x7d || c == 0x5d) { // } ]
      if (depth > 0) depth--;
      if (depth < zone) zone = 0;
      i++;
      continue;
    }
    if (c == 0x2c) { // ,
      if (depth > 0) {
        if (unchecked(frameKind[depth]) == OBJECT) unchecked(frameAwaitingKey[depth] = 1);
        else unchecked(frameIndex[depth] = unchecked(frameIndex[depth]) + 1);
      }
      i++;
      continue;
    }
    if (c == 0x3a || isSpace(c)) {
      i++;
      continue;
    }
    const next = skipScalar(p, i, n);
    i = next > i ? next : i + 1;
  }
  return false;
}

// One object key for a path: printable ASCII kept, an escape sequence shown as '?', long keys cut.
function keyText(p: usize, start: i32, end: i32): string {
  let out = "";
  let shown = 0;
  let i = start;
  while (i < end) {
    if (shown >= PATH_KEY_MAX) return out + "…";
    const c = byteAt(p, i);
    if (c == BACKSLASH) {
      out += "?";
      i += i + 1 < end && byteAt(p, i + 1) == 0x75 ? 6 : 2;
    } else {
      out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?";
      i++;
    }
    shown++;
  }
  return out;
}

// data.<zone key>.a[2].b for frames 2..upTo (frame 2 is the `data` object, its key is the zone key).
function pathText(p: usize, upTo: i32): string {
  let out = "";
  const first = upTo - PATH_PARTS_MAX > 2 ? upTo - PATH_PARTS_MAX : 2;
  if (first > 2) out = keyText(p, unchecked(frameKeyStart[2]), unchecked(frameKeyEnd[2])) + ".…";
  for (let d = first; d <= upTo; d++) {
    if (unchecked(frameKind[d]) == ARRAY) {
      out += "[" + unchecked(frameIndex[d]).toString() + "]";
      continue;
    }
    const key = unchecked(frameHiddenKey[d]) != 0
      ? "<a key that looks like a secret>"
      : keyText(p, unchecked(frameKeyStart[d]), unchecked(frameKeyEnd[d]));
    out += (d == first && first == 2 ? "" : ".") + key;
  }
  return out;
}

function reason(p: usize): string {
  const id = KIND_IDS[foundKind];
  const where = foundInKey
    ? "An object key inside the argument " + pathText(p, foundDepth - 1)
    : "The argument " + pathText(p, foundDepth);
  return where + " holds what looks like " + KIND_LABELS[foundKind] + " (detector " + id + "). The call was " +
    "blocked so the secret does not reach the tool; it is not repeated here. If this tool should receive it, " +
    "add \"" + id + "\" to secret-guard's allow_kinds setting.";
}

export function before_tool_call(): i32 {
  // Built with the "minimal" runtime (no shadow stack on the hot path): garbage is collected here,
  // at the end of a call that allocated, when no managed reference is live.
  let allocated = false;
  if (!ready) {
    setup();
    allocated = true;
  }
  const n = readInput();
  const p = inputPtr();
  if (scan(p, n)) {
    blockAnswer(reason(p));
    allocated = true;
  } else if (tooDeep) {
    log("warning", "the tool call's arguments are nested more than " + MAX_DEPTH.toString() +
      " levels deep; the levels below were not scanned");
    allocated = true;
  }
  if (allocated) __collect();
  return 0;
}
