// Aleph demo plugin "wasm-notes": read-only tools over a notes folder the user granted.
//
// Written in AssemblyScript with the Extism PDK. Files are read through WASI: the folder is only
// visible because the user granted `file_access` read on it, and WASI refuses anything outside it
// ("..", symlinks out, absolute paths). It uses two Aleph host APIs: `log` and `kv`.
import { Config, Host, Memory } from "@extism/as-pdk";
import { error_set, length } from "@extism/as-pdk/lib/env";

// -- Aleph host functions (granted by allowed_apis = ["log", "kv"]) ------------------------------
@external("extism:host/user", "aleph_log")
declare function aleph_log(level: u64, message: u64): void;
@external("extism:host/user", "aleph_kv_get")
declare function aleph_kv_get(key: u64): u64;
@external("extism:host/user", "aleph_kv_set")
declare function aleph_kv_set(key: u64, value: u64): u64;

// -- WASI preview 1 ------------------------------------------------------------------------------
@external("wasi_snapshot_preview1", "fd_prestat_get")
declare function fd_prestat_get(fd: i32, buf: usize): i32;
@external("wasi_snapshot_preview1", "fd_prestat_dir_name")
declare function fd_prestat_dir_name(fd: i32, path: usize, len: i32): i32;
@external("wasi_snapshot_preview1", "path_open")
declare function path_open(dirfd: i32, dirflags: i32, path: usize, pathLen: i32, oflags: i32,
                           rightsBase: u64, rightsInheriting: u64, fdflags: i32, fdOut: usize): i32;
@external("wasi_snapshot_preview1", "fd_read")
declare function fd_read(fd: i32, iovs: usize, iovsLen: i32, nread: usize): i32;
@external("wasi_snapshot_preview1", "fd_readdir")
declare function fd_readdir(fd: i32, buf: usize, bufLen: i32, cookie: u64, bufused: usize): i32;
@external("wasi_snapshot_preview1", "fd_close")
declare function fd_close(fd: i32): i32;

const RIGHT_FD_READ: u64 = 2;
const LOOKUP_SYMLINK_FOLLOW: i32 = 1;
const FILETYPE_REGULAR: u8 = 4;
const MAX_NOTE_BYTES: i32 = 1024 * 1024;
const ERRNO_NOENT: i32 = 44;
const ERRNO_PERM: i32 = 63;
const ERRNO_NOTCAPABLE: i32 = 76;

function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = "abort: " + (message === null ? "" : message) + " at " +
    (fileName === null ? "" : fileName) + ":" + line.toString() + ":" + column.toString();
  error_set(Memory.allocateString(text).offset);
  unreachable();
}

// -- small helpers -------------------------------------------------------------------------------
// A text, or the sentence saying why there is none (AssemblyScript has no union types).
class Outcome {
  constructor(public text: string, public error: string | null) {}
  static ok(text: string): Outcome { return new Outcome(text, null); }
  static failed(error: string): Outcome { return new Outcome("", error); }
}

function fail(message: string): i32 {
  error_set(Memory.allocateString(message).offset);
  return 1;
}

function output(text: string): i32 {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
  return 0;
}

function log(level: string, message: string): void {
  aleph_log(Memory.allocateString(level).offset, Memory.allocateString(message).offset);
}

function kvGet(key: string): string | null {
  const offset = aleph_kv_get(Memory.allocateString(key).offset);
  if (offset == 0) return null;
  return new Memory(offset, length(offset)).toString();
}

function kvSet(key: string, value: string): string | null {
  const status = aleph_kv_set(Memory.allocateString(key).offset, Memory.allocateString(value).offset);
  if (status == 0) return null;
  return new Memory(status, length(status)).toString();
}

function jsonString(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c == 13) out += "\\r";
    else if (c == 9) out += "\\t";
    else if (c < 32) out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

// The string value of `key` in a flat JSON object (enough for {"name": "..."}), or null.
function jsonField(json: string, key: string): string | null {
  const at = json.indexOf("\"" + key + "\"");
  if (at < 0) return null;
  let i = at + key.length + 2;
  while (i < json.length && json.charCodeAt(i) <= 32) i++;
  if (i >= json.length || json.charCodeAt(i) != 58) return null; // ':'
  i++;
  while (i < json.length && json.charCodeAt(i) <= 32) i++;
  if (i >= json.length || json.charCodeAt(i) != 34) return null; // '"'
  i++;
  let out = "";
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c == 34) return out;
    if (c == 92 && i + 1 < json.length) {
      const e = json.charCodeAt(i + 1);
      if (e == 110) out += "\n";
      else if (e == 116) out += "\t";
      else if (e == 114) out += "\r";
      else if (e == 117 && i + 5 < json.length) {
        out += String.fromCharCode(<i32>parseInt(json.substring(i + 2, i + 6), 16));
        i += 4;
      } else out += String.fromCharCode(e);
      i += 2;
      continue;
    }
    out += String.fromCharCode(c);
    i++;
  }
  return null;
}

// -- the notes folder (a WASI pre-opened directory) ----------------------------------------------
class Folder {
  constructor(public fd: i32, public name: string) {}
}

function preopenName(fd: i32): string | null {
  const prestat = new ArrayBuffer(8);
  if (fd_prestat_get(fd, changetype<usize>(prestat)) != 0) return null;
  const len = load<u32>(changetype<usize>(prestat) + 4);
  const name = new ArrayBuffer(<i32>len);
  if (fd_prestat_dir_name(fd, changetype<usize>(name), <i32>len) != 0) return null;
  return String.UTF8.decode(name);
}

// The granted folder named by config `notes_dir`, else the first one granted.
function notesFolder(): Folder | null {
  const wanted = Config.get("notes_dir");
  let first: Folder | null = null;
  for (let fd = 3; fd < 64; fd++) {
    const name = preopenName(fd);
    if (name === null) break;
    if (wanted !== null && name == wanted) return new Folder(fd, name);
    if (first === null) first = new Folder(fd, name);
  }
  return first;
}

function describeErrno(errno: i32): string {
  if (errno == ERRNO_NOENT) return "no such note";
  if (errno == ERRNO_PERM || errno == ERRNO_NOTCAPABLE) return "outside the granted notes folder: refused by the sandbox";
  return "error " + errno.toString();
}

function readFile(folder: Folder, path: string): Outcome {
  const pathBuf = String.UTF8.encode(path);
  const fdOut = new ArrayBuffer(4);
  const errno = path_open(folder.fd, LOOKUP_SYMLINK_FOLLOW, changetype<usize>(pathBuf), pathBuf.byteLength,
                          0, RIGHT_FD_READ, 0, 0, changetype<usize>(fdOut));
  if (errno != 0) return Outcome.failed("cannot open '" + path + "': " + describeErrno(errno) + " (errno " + errno.toString() + ")");
  const fd = load<i32>(changetype<usize>(fdOut));
  const chunk = new ArrayBuffer(65536);
  const iov = new ArrayBuffer(8);
  const nread = new ArrayBuffer(4);
  store<u32>(changetype<usize>(iov), <u32>changetype<usize>(chunk));
  store<u32>(changetype<usize>(iov) + 4, <u32>chunk.byteLength);
  const parts = new Array<ArrayBuffer>();
  let total = 0;
  while (total < MAX_NOTE_BYTES) {
    const e = fd_read(fd, changetype<usize>(iov), 1, changetype<usize>(nread));
    if (e != 0) {
      fd_close(fd);
      return Outcome.failed("cannot read '" + path + "': " + describeErrno(e));
    }
    const n = load<i32>(changetype<usize>(nread));
    if (n == 0) break;
    parts.push(chunk.slice(0, n));
    total += n;
  }
  fd_close(fd);
  const all = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    all.set(Uint8Array.wrap(parts[i]), at);
    at += parts[i].byteLength;
  }
  return Outcome.ok(String.UTF8.decode(all.buffer));
}

function isNoteName(name: string): bool {
  return name.endsWith(".md") || name.endsWith(".txt");
}

function listNames(folder: Folder): string[] {
  const names = new Array<string>();
  const buf = new ArrayBuffer(65536);
  const used = new ArrayBuffer(4);
  const base = changetype<usize>(buf);
  let cookie: u64 = 0;
  while (true) {
    if (fd_readdir(folder.fd, base, buf.byteLength, cookie, changetype<usize>(used)) != 0) break;
    const n = load<i32>(changetype<usize>(used));
    let off = 0;
    let complete = false;
    while (off + 24 <= n) {
      const next = load<u64>(base + off);
      const namelen = load<u32>(base + off + 16);
      const kind = load<u8>(base + off + 20);
      if (off + 24 + <i32>namelen > n) break; // entry cut off: read again from its cookie
      const name = String.UTF8.decode(buf.slice(off + 24, off + 24 + <i32>namelen));
      if (kind == FILETYPE_REGULAR && isNoteName(name)) names.push(name);
      cookie = next;
      off += 24 + <i32>namelen;
      complete = true;
    }
    if (n < buf.byteLength || !complete) break;
  }
  names.sort((a: string, b: string): i32 => (a < b ? -1 : a > b ? 1 : 0));
  return names;
}

function countWords(text: string): i32 {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c == 32 || c == 9 || c == 10 || c == 13;
    if (space) inWord = false;
    else if (!inWord) { words++; inWord = true; }
  }
  return words;
}

function countLines(text: string): i32 {
  if (text.length == 0) return 0;
  let lines = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) == 10 && i + 1 < text.length) lines++;
  return lines;
}

function noteName(): Outcome {
  const name = jsonField(Host.inputString(), "name");
  if (name === null || name.length == 0) return Outcome.failed("expected {\"name\": \"<note file name>\"}");
  return Outcome.ok(name);
}

// -- tools -----------------------------------------------------------------------------------------
export function list_notes(): i32 {
  const folder = notesFolder();
  if (folder === null) return fail("no notes folder was granted to this plugin");
  const names = listNames(folder);
  let out = "{\"folder\":" + jsonString(folder.name) + ",\"notes\":[";
  for (let i = 0; i < names.length; i++) out += (i > 0 ? "," : "") + jsonString(names[i]);
  log("info", "listed " + names.length.toString() + " notes");
  return output(out + "]}");
}

export function read_note(): i32 {
  const folder = notesFolder();
  if (folder === null) return fail("no notes folder was granted to this plugin");
  const arg = noteName();
  if (arg.error !== null) return fail(<string>arg.error);
  const name = arg.text;
  const note = readFile(folder, name);
  if (note.error !== null) return fail(<string>note.error); // the host logs refused calls
  const key = "reads:" + name;
  const before = kvGet(key);
  const reads = (before === null ? 0 : I32.parseInt(before)) + 1;
  const problem = kvSet(key, reads.toString());
  if (problem !== null) log("warning", problem);
  log("info", "read note " + name);
  return output("{\"name\":" + jsonString(name) + ",\"text\":" + jsonString(note.text) + "}");
}

export function note_stats(): i32 {
  const folder = notesFolder();
  if (folder === null) return fail("no notes folder was granted to this plugin");
  const arg = noteName();
  if (arg.error !== null) return fail(<string>arg.error);
  const name = arg.text;
  const note = readFile(folder, name);
  if (note.error !== null) return fail(<string>note.error);
  const reads = kvGet("reads:" + name);
  const t = note.text;
  return output("{\"name\":" + jsonString(name) + ",\"lines\":" + countLines(t).toString() +
    ",\"words\":" + countWords(t).toString() + ",\"chars\":" + t.length.toString() +
    ",\"reads\":" + (reads === null ? "0" : reads) + "}");
}
