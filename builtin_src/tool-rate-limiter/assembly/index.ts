// Aleph built-in plugin "tool-rate-limiter": blocks a tool that is called more often than its limit
// per minute, so an agent stuck in a loop cannot hammer a tool (or the paid API behind it).
//
// Per tool, the calls of the last 60 seconds are kept in the plugin's own kv store as one-second
// buckets ("<unix second>:<calls>,..."), so the count survives a reload, an app restart and the
// short-lived `aleph-ext call` processes. Only calls that were let through are counted: a blocked
// tool becomes callable again once its oldest counted calls are a minute old.
import { blockAnswer, configValue, extismString, extismText, inputPtr, log, readInput } from "../../common/io";
import { IntMap, dataField, intMap, parseCount } from "../../common/json";

@external("extism:host/user", "aleph_kv_get")
declare function aleph_kv_get(key: u64): u64;
@external("extism:host/user", "aleph_kv_set")
declare function aleph_kv_set(key: u64, value: u64): u64;
@external("extism:host/user", "aleph_now_ms")
declare function aleph_now_ms(): u64;

const WINDOW_S: i64 = 60;
const DEFAULT_LIMIT: i64 = 120;
const KEY_PREFIX = "calls:";
const KEY_MAX_BYTES = 200; // the host allows 256; longer names are hashed

let ready = false;
let defaultLimit: i64 = DEFAULT_LIMIT;
let overrides: IntMap = new IntMap();

function setup(): void {
  const configured = configValue("max_calls_per_minute");
  defaultLimit = parseCount(configured, -1);
  if (defaultLimit < 0) {
    if (configured !== null) {
      log("warning", "max_calls_per_minute is not a whole number >= 0; using " + DEFAULT_LIMIT.toString());
    }
    defaultLimit = DEFAULT_LIMIT;
  }
  overrides = intMap(configValue("tool_limits"));
  for (let k = 0; k < overrides.bad.length; k++) {
    log("warning", "tool_limits: the limit for '" + overrides.bad[k].slice(0, 80) +
      "' is not a whole number >= 0; max_calls_per_minute applies to it");
  }
  ready = true;
}

// FNV-1a: a short stable name for a tool whose name is too long for a kv key.
function fnv1a(text: string): string {
  let hash: u32 = 2166136261;
  for (let i = 0; i < text.length; i++) {
    hash ^= <u32>text.charCodeAt(i);
    hash *= 16777619;
  }
  return hash.toString(16);
}

function kvKey(tool: string): string {
  const key = KEY_PREFIX + tool;
  if (String.UTF8.byteLength(key) <= KEY_MAX_BYTES) return key;
  return KEY_PREFIX + "#" + fnv1a(tool) + ":" + tool.slice(0, 64);
}

// The buckets of the last minute, oldest first.
class Window {
  seconds: i64[] = [];
  counts: i64[] = [];
  total: i64 = 0;

  add(second: i64, count: i64): void {
    const last = this.seconds.length - 1;
    if (last >= 0 && this.seconds[last] == second) this.counts[last] += count;
    else {
      this.seconds.push(second);
      this.counts.push(count);
    }
    this.total += count;
  }

  // "second:count,..." -> only the buckets inside (now - 60 s, now]; a bucket from the future (the
  // clock was set back) counts as now, so it still expires a minute later.
  static parse(text: string | null, now: i64): Window {
    const w = new Window();
    if (text === null) return w;
    const parts = text.split(",");
    for (let k = 0; k < parts.length; k++) {
      const colon = parts[k].indexOf(":");
      if (colon <= 0) continue;
      let second = I64.parseInt(parts[k].slice(0, colon));
      const count = I64.parseInt(parts[k].slice(colon + 1));
      if (count <= 0) continue;
      if (second > now) second = now;
      if (second > now - WINDOW_S) w.add(second, count);
    }
    return w;
  }

  serialize(): string {
    const out = new Array<string>();
    for (let k = 0; k < this.seconds.length; k++) out.push(this.seconds[k].toString() + ":" + this.counts[k].toString());
    return out.join(",");
  }

  // Seconds until enough old calls have left the window for one more call under `limit`.
  waitFor(limit: i64, now: i64): i64 {
    let remaining = this.total;
    for (let k = 0; k < this.seconds.length; k++) {
      remaining -= this.counts[k];
      if (remaining < limit) return this.seconds[k] + WINDOW_S - now;
    }
    return WINDOW_S;
  }
}

function describe(tool: string, plugin: string | null): string {
  return "Tool '" + tool + "'" + (plugin === null ? "" : " of plugin '" + plugin + "'");
}

function times(count: i64): string {
  return count.toString() + (count == 1 ? " time" : " times");
}

function check(): void {
  const n = readInput();
  const p = inputPtr();
  const tool = dataField(p, n, "tool_name");
  if (tool === null || tool.length == 0) return;
  const plugin = dataField(p, n, "plugin");
  const qualified = plugin === null || plugin.length == 0 ? tool : plugin + "/" + tool;

  let limit = overrides.get(qualified);
  let setting = "tool_limits." + qualified;
  if (limit < 0 && qualified != tool) {
    limit = overrides.get(tool);
    setting = "tool_limits." + tool;
  }
  if (limit < 0) {
    limit = defaultLimit;
    setting = "max_calls_per_minute";
  }
  if (limit == 0) return; // 0 = no limit for this tool

  const now = <i64>(aleph_now_ms() / 1000);
  const key = kvKey(qualified);
  const window = Window.parse(extismText(aleph_kv_get(extismString(key))), now);
  if (window.total >= limit) {
    const wait = window.waitFor(limit, now);
    blockAnswer(describe(tool, plugin === null || plugin.length == 0 ? null : plugin) + " was called " +
      times(window.total) + " in the last minute; the limit is " + limit.toString() + " (setting " +
      setting + "). It can be called again in " + (wait < 1 ? "1" : wait.toString()) + " s.");
    return;
  }
  window.add(now, 1);
  const problem = extismText(aleph_kv_set(extismString(key), extismString(window.serialize())));
  if (problem !== null) log("warning", "could not record a call of tool '" + qualified + "'" + ": " + problem);
}

export function before_tool_call(): i32 {
  if (!ready) setup();
  check();
  // Built with the "minimal" runtime: garbage is collected here, when no managed reference is live.
  __collect();
  return 0;
}
