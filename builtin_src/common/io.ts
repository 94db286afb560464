// Shared by the built-in plugins: the call's input in one reusable buffer, output, log, config.
//
// A hook runs on every tool call, so the input is copied eight bytes at a time into a buffer
// that is kept between calls (no allocation on the common path), and "continue" is the empty
// output (nothing to allocate or write).
import { Config } from "@extism/as-pdk";
import {
  alloc, error_set, input_length, input_load_u64, input_load_u8, length, load_u64, load_u8, output_set, store_u64,
  store_u8,
} from "@extism/as-pdk/lib/env";

// Aleph's log host function: always granted ("log" needs no review).
@external("extism:host/user", "aleph_log")
declare function aleph_log(level: u64, message: u64): void;

const MIN_CAPACITY: i32 = 16 * 1024;
const SHRINK_ABOVE: i32 = 1024 * 1024;

let inputBuf: usize = 0;
let inputCap: i32 = 0;

// Copies the call's input into the reusable buffer and returns its length (see inputPtr()).
export function readInput(): i32 {
  const n = <i32>input_length();
  // a huge input once must not pin its buffer for the rest of the plugin's life
  if (n > inputCap || (inputCap > SHRINK_ABOVE && n <= MIN_CAPACITY)) {
    if (inputBuf != 0) heap.free(inputBuf);
    inputCap = n > MIN_CAPACITY ? n : MIN_CAPACITY;
    inputBuf = heap.alloc(<usize>inputCap);
  }
  const buf = inputBuf;
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(buf + <usize>i, input_load_u64(<u64>i));
  for (; i < n; i++) store<u8>(buf + <usize>i, input_load_u8(<u64>i));
  return n;
}

export function inputPtr(): usize {
  return inputBuf;
}

function toExtism(ptr: usize, len: i32): u64 {
  const off = alloc(<u64>len);
  let i = 0;
  for (; i + 8 <= len; i += 8) store_u64(off + <u64>i, load<u64>(ptr + <usize>i));
  for (; i < len; i++) store_u8(off + <u64>i, load<u8>(ptr + <usize>i));
  return off;
}

export function outputString(text: string): void {
  const bytes = String.UTF8.encode(text);
  const len = bytes.byteLength;
  output_set(toExtism(changetype<usize>(bytes), len), <u64>len);
}

// `text` copied into Extism memory (what host functions take); its offset.
export function extismString(text: string): u64 {
  const bytes = String.UTF8.encode(text);
  return toExtism(changetype<usize>(bytes), bytes.byteLength);
}

export function log(level: string, message: string): void {
  aleph_log(extismString(level), extismString(message));
}

// The bytes at an Extism memory offset as text (what host functions answer), or null for 0.
export function extismText(offset: u64): string | null {
  if (offset == 0) return null;
  const len = <i32>length(offset);
  const buf = new ArrayBuffer(len);
  const ptr = changetype<usize>(buf);
  let i = 0;
  for (; i + 8 <= len; i += 8) store<u64>(ptr + <usize>i, load_u64(offset + <u64>i));
  for (; i < len; i++) store<u8>(ptr + <usize>i, load_u8(offset + <u64>i));
  return String.UTF8.decode(buf);
}

// The call fails with this message (the host reports it as the plugin's error).
export function fail(message: string): i32 {
  error_set(extismString(message));
  return 1;
}

export function configValue(key: string): string | null {
  return Config.get(key);
}

// A JSON string literal of `text` (quotes included).
export function jsonString(text: string): string {
  let out = "\"";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

export function blockAnswer(reason: string): void {
  outputString("{\"action\":\"block\",\"reason\":" + jsonString(reason) + "}");
}

export function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = "abort: " + (message === null ? "" : message) + " at " +
    (fileName === null ? "" : fileName) + ":" + line.toString() + ":" + column.toString();
  error_set(extismString(text));
  unreachable();
}
