'use strict';
// Host for module-shape Aleph Node.js plugins.
//
// Usage: node [permission flags] node_host.js <absolute entry path>
// Loads the entry (CommonJS or ESM), calls its register(api), reports what it registered in a
// ready line with id "init", then answers newline-delimited JSON-RPC 2.0 requests on stdin:
//   plugin.call {handler, arguments}   run a registered tool
//   hook.run {handler, event}          run a registered hook handler with {event, data}
//   service.start {id} / service.stop {id}
//   handler.run {type, name, arguments}   run a registered command, channel, provider, HTTP route
//                                          or CLI entry (its handler function)
//   ping, shutdown, $/cancelRequest {id}, $/config {config} (the user's settings changed)
// The plugin reaches the app through api.call(hostApi, args) (a request "host.call" to the app,
// which checks it against the plugin's granted allowed_apis) and api.log (notification "log").

const path = require('node:path');
const { pathToFileURL } = require('node:url');

const MAX_LOG_CHARS = 4096;
const PRIORITY_WORDS = { high: -10, normal: 0, low: 10 };

// The protocol owns stdout: plugin output via console.* goes to the plugin log instead.
const writeOut = process.stdout.write.bind(process.stdout);

function send(message) {
  let line;
  try {
    line = JSON.stringify(message);
  } catch (err) {
    line = JSON.stringify({
      jsonrpc: '2.0', id: message.id,
      error: { code: -32603, message: `the answer is not JSON-serialisable: ${err.message}` },
    });
  }
  writeOut(line + '\n');
}

function textOf(args) {
  return args.map((a) => (typeof a === 'string' ? a : safeInspect(a))).join(' ').slice(0, MAX_LOG_CHARS);
}

function safeInspect(value) {
  try {
    return require('node:util').inspect(value, { depth: 4 });
  } catch (_err) {
    return String(value);
  }
}

function log(level, ...args) {
  const message = textOf(args);
  // Node announces the permission flag it was started with; that is not the plugin talking.
  if (message.includes('ExperimentalWarning: Permission is an experimental feature')) return;
  send({ jsonrpc: '2.0', method: 'log', params: { level, message } });
}

console.log = (...a) => log('info', ...a);
console.info = (...a) => log('info', ...a);
console.debug = (...a) => log('debug', ...a);
console.warn = (...a) => log('warning', ...a);
console.error = (...a) => log('error', ...a);

// ---- calls from the plugin to the app ---------------------------------------------------------
let nextHostId = 1;
const hostPending = new Map();

function callHost(api, args) {
  if (typeof api !== 'string' || api === '') {
    return Promise.reject(new TypeError('api.call(hostApi, args): hostApi must be a non-empty string'));
  }
  const id = `h${nextHostId++}`;
  return new Promise((resolve, reject) => {
    hostPending.set(id, { resolve, reject });
    send({ jsonrpc: '2.0', id, method: 'host.call', params: { api, args: args === undefined ? {} : args } });
  });
}

// ---- what register(api) records ----------------------------------------------------------------
const tools = new Map();      // name -> execute
const hooks = new Map();      // handler -> fn
const services = new Map();   // id -> {start, stop}
const handlers = new Map();   // "type:name" -> the handler of a command, channel, provider, route, CLI entry
let currentConfig = Object.freeze({});
const registrations = [];
let ready = false;
let pluginApi = null; // the api object handed to register(), also given to execute() as context

function announce(reg) {
  registrations.push(reg);
  if (ready) send({ jsonrpc: '2.0', method: '$/register', params: reg });
}

function requireName(kind, value) {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${kind}: a non-empty name is required`);
  }
  return value;
}

function priorityOf(value) {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string' && value in PRIORITY_WORDS) return PRIORITY_WORDS[value];
  const n = Number(value);
  if (!Number.isInteger(n)) throw new TypeError(`priority must be an integer or high/normal/low, got ${value}`);
  return n;
}

function registerTool(spec, description, parameters, fn) {
  // Aleph's positional form: registerTool(name, description, parameters, fn)
  if (typeof spec === 'string') spec = { name: spec, description, parameters, execute: fn };
  if (!spec || typeof spec !== 'object') throw new TypeError('registerTool: expected {name, description, parameters, execute}');
  const name = requireName('registerTool', spec.name);
  const execute = spec.execute || spec.handler || spec.run;
  if (typeof execute !== 'function') throw new TypeError(`registerTool('${name}'): execute must be a function`);
  if (tools.has(name)) throw new Error(`registerTool: the tool '${name}' is already registered`);
  tools.set(name, execute);
  announce({
    type: 'tool', name, description: String(spec.description || ''),
    parameters: spec.parameters && typeof spec.parameters === 'object' ? spec.parameters : null,
  });
}

function on(event, fn, options) {
  const ev = requireName('on', event);
  if (typeof fn !== 'function') throw new TypeError(`on('${ev}'): the handler must be a function`);
  const opts = typeof options === 'object' && options !== null ? options : { priority: options };
  let handler = opts.handler || (fn.name && !hooks.has(fn.name) ? fn.name : `${ev}#${hooks.size + 1}`);
  if (hooks.has(handler)) handler = `${handler}#${hooks.size + 1}`;
  hooks.set(handler, fn);
  announce({
    type: 'hook', event: ev, handler, priority: priorityOf(opts.priority),
    hook_kind: opts.kind === 'observer' ? 'observer' : 'interceptor',
    matcher: typeof opts.matcher === 'string' ? opts.matcher : '',
    fail_closed: Boolean(opts.failClosed || opts.fail_closed),
  });
}

function registerService(spec) {
  if (!spec || typeof spec !== 'object') throw new TypeError('registerService: expected {id, start, stop}');
  const id = requireName('registerService', spec.id || spec.name);
  if (typeof spec.start !== 'function') throw new TypeError(`registerService('${id}'): start must be a function`);
  services.set(id, { start: spec.start, stop: typeof spec.stop === 'function' ? spec.stop : null });
  announce({ type: 'service', name: id, description: String(spec.description || '') });
}

// Channels, providers, routes, commands and CLI entries are listed in the registry by name; their
// handler (`handler`, `execute`, `run`, or `send` for channels / `complete` for providers) is kept.
const HANDLER_KEYS = ['handler', 'execute', 'run', 'send', 'complete'];

function declaration(type, key) {
  return (spec) => {
    if (!spec || typeof spec !== 'object') throw new TypeError(`register: expected an object for a ${type}`);
    let name = requireName(type, spec[key] || spec.name || spec.id);
    const details = {};
    if (type === 'http_route') {
      // named like the manifest names a route: "METHOD /path"
      details.method = String(spec.method || 'GET').toUpperCase();
      details.path = '/' + name.replace(/^\/+|\/+$/g, '');
      name = `${details.method} ${details.path}`;
    }
    const fn = HANDLER_KEYS.map((k) => spec[k]).find((f) => typeof f === 'function');
    if (fn) handlers.set(`${type}:${name}`, fn);
    announce({ type, name, description: String(spec.description || ''), details });
  };
}

function makeApi(pluginId, config) {
  currentConfig = Object.freeze({ ...config });
  return Object.freeze({
    id: pluginId,
    get config() { return currentConfig; },
    registerTool,
    on,
    registerHook: (event, fn, priority) => on(event, fn, { priority }),
    registerService,
    registerCommand: declaration('command', 'name'),
    registerChannel: declaration('channel', 'id'),
    registerProvider: declaration('provider', 'id'),
    registerHttpRoute: declaration('http_route', 'path'),
    registerCli: declaration('cli', 'name'),
    log: Object.assign((...a) => log('info', ...a), {
      debug: (...a) => log('debug', ...a), info: (...a) => log('info', ...a),
      warn: (...a) => log('warning', ...a), error: (...a) => log('error', ...a),
    }),
    call: callHost,
    // Hook answers, so handlers need not spell the ABI by hand.
    continue: () => ({ action: 'continue' }),
    intercept: (data) => ({ action: 'intercept', data }),
    block: (reason) => ({ action: 'block', reason: String(reason || 'blocked by plugin') }),
  });
}

// ---- requests from the app ------------------------------------------------------------------
const running = new Map(); // request id -> Call

function errorOf(err) {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function dispatch(method, params) {
  const p = params || {};
  switch (method) {
    case 'ping':
      return 'pong';
    case 'plugin.call': {
      const fn = tools.get(p.handler);
      if (!fn) throw new Error(`no tool named '${p.handler}' is registered`);
      return fn(p.arguments || {}, p.context);
    }
    case 'hook.run': {
      const fn = hooks.get(p.handler);
      if (!fn) throw new Error(`no hook handler named '${p.handler}' is registered`);
      return fn(p.event || {});
    }
    case 'service.start': {
      const svc = services.get(p.id);
      if (!svc) throw new Error(`no service named '${p.id}' is registered`);
      return svc.start();
    }
    case 'handler.run': {
      const fn = handlers.get(`${p.type}:${p.name}`);
      if (!fn) throw new Error(`no ${String(p.type).replace('_', ' ')} named '${p.name}' with a handler is registered`);
      return fn(p.arguments || {}, { log: pluginApi.log, call: callHost });
    }
    case 'service.stop': {
      const svc = services.get(p.id);
      if (!svc) throw new Error(`no service named '${p.id}' is registered`);
      return svc.stop ? svc.stop() : null;
    }
    default: {
      const err = new Error(`unknown method '${method}'`);
      err.rpcCode = -32601;
      throw err;
    }
  }
}

// One request being served. The AbortSignal is made only if the plugin asks for it (most never do).
class Call {
  constructor(id) {
    this.id = id;
    this.cancelled = false;
    this.controller = null;
  }

  get signal() {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  cancel() {
    this.cancelled = true;
    if (this.controller) this.controller.abort();
  }

  succeed(result) {
    running.delete(this.id);
    if (!this.cancelled) send({ jsonrpc: '2.0', id: this.id, result: result === undefined ? null : result });
  }

  fail(err) {
    running.delete(this.id);
    if (!this.cancelled) {
      send({ jsonrpc: '2.0', id: this.id, error: { code: err && err.rpcCode ? err.rpcCode : -32000, message: errorOf(err) } });
    }
  }
}

function handleRequest(msg) {
  const call = new Call(msg.id);
  running.set(msg.id, call);
  const params = msg.params || {};
  if (msg.method === 'plugin.call') {
    params.context = { get signal() { return call.signal; }, log: pluginApi.log, call: callHost };
  }
  let result;
  try {
    result = dispatch(msg.method, params);
  } catch (err) {
    call.fail(err);
    return;
  }
  // Synchronous answers go out at once; promises when they settle.
  if (result && typeof result.then === 'function') {
    result.then((value) => call.succeed(value), (err) => call.fail(err));
  } else {
    call.succeed(result);
  }
}

function handleMessage(msg) {
  if (msg.method === undefined && msg.id !== undefined) {
    const waiter = hostPending.get(msg.id);
    if (!waiter) return;
    hostPending.delete(msg.id);
    if (msg.error) {
      const err = new Error(msg.error.message || 'host call failed');
      err.code = msg.error.code === -32001 ? 'ERR_SCOPE_DENIED' : 'ERR_HOST_CALL';
      waiter.reject(err);
    } else {
      waiter.resolve(msg.result);
    }
    return;
  }
  if (msg.method === '$/config') {
    currentConfig = Object.freeze({ ...((msg.params && msg.params.config) || {}) });
    return;
  }
  if (msg.method === '$/cancelRequest') {
    const call = running.get(msg.params && msg.params.id);
    if (call) call.cancel();
    return;
  }
  if (msg.method === 'shutdown') {
    send({ jsonrpc: '2.0', id: msg.id, result: null });
    process.exit(0);
  }
  if (msg.id === undefined) return; // unknown notification
  handleRequest(msg);
}

function listen() {
  let partial = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    let start = 0;
    let nl;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      const line = partial + chunk.slice(start, nl);
      partial = '';
      start = nl + 1;
      if (line.trim() === '') continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch (_err) {
        log('warning', 'the host sent a line that is not JSON; ignored');
        continue;
      }
      handleMessage(msg);
    }
    partial += chunk.slice(start);
  });
  // The app closed our stdin: it is gone or wants us gone.
  process.stdin.on('end', () => process.exit(0));
}

async function loadEntry(file) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  try {
    return require(file);
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(file).href);
    throw err;
  }
}

function findRegister(mod) {
  const candidates = [mod && mod.register, mod && mod.activate, mod && mod.default && mod.default.register,
    mod && mod.default && mod.default.activate, mod && mod.default, mod];
  return candidates.find((c) => typeof c === 'function');
}

async function main() {
  const entry = process.argv[2];
  const pluginId = process.env.ALEPH_PLUGIN_ID || path.basename(path.dirname(entry || '.'));
  let config = {};
  try {
    config = JSON.parse(process.env.ALEPH_PLUGIN_CONFIG || '{}');
  } catch (_err) {
    config = {};
  }
  listen();
  const api = makeApi(pluginId, config);
  pluginApi = api;
  try {
    if (!entry) throw new Error('no entry file given');
    const mod = await loadEntry(path.resolve(entry));
    const register = findRegister(mod);
    if (!register) throw new Error('the entry exports no register(api) function');
    await register(api);
  } catch (err) {
    const where = err && err.code === 'ERR_ACCESS_DENIED' ? ' (file access denied by the permission model)' : '';
    send({ jsonrpc: '2.0', id: 'init', error: { code: -32002, message: `loading the plugin failed: ${errorOf(err)}${where}` } });
    process.exitCode = 1;
    setImmediate(() => process.exit(1));
    return;
  }
  ready = true;
  send({ jsonrpc: '2.0', id: 'init', result: { registrations, node: process.version } });
}

main();
