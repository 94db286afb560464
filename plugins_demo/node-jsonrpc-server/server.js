'use strict';
// A server-shape Aleph plugin: this file is itself a newline-delimited JSON-RPC 2.0 server.
// It prints a ready line with id "init", then answers `plugin.call {handler, arguments}` and `ping`.
const readline = require('node:readline');

let ticks = 0;
let timer = null;

const handlers = {
  wordCount({ text }) {
    const value = String(text || '');
    const words = value.split(/\s+/).filter(Boolean).length;
    return { words, lines: value === '' ? 0 : value.split('\n').length, characters: [...value].length };
  },
  ticks() {
    return { ticks, running: timer !== null };
  },
  'heartbeat.start'() {
    if (!timer) {
      ticks = 0;
      timer = setInterval(() => { ticks += 1; }, 100);
    }
    return { started: true };
  },
  'heartbeat.stop'() {
    if (timer) clearInterval(timer);
    timer = null;
    return { stopped: true, ticks };
  },
};

function reply(id, result, error) {
  const msg = error ? { jsonrpc: '2.0', id, error } : { jsonrpc: '2.0', id, result };
  process.stdout.write(JSON.stringify(msg) + '\n');
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (_err) {
    return;
  }
  if (msg.id === undefined) return; // notifications ($/cancelRequest) need no answer here
  if (msg.method === 'ping') return reply(msg.id, 'pong');
  if (msg.method === 'shutdown') {
    reply(msg.id, null);
    process.exit(0);
  }
  if (msg.method !== 'plugin.call') return reply(msg.id, undefined, { code: -32601, message: `unknown method ${msg.method}` });
  const { handler, arguments: args } = msg.params || {};
  const fn = handlers[handler];
  if (!fn) return reply(msg.id, undefined, { code: -32601, message: `no handler '${handler}'` });
  try {
    reply(msg.id, fn(args || {}));
  } catch (err) {
    reply(msg.id, undefined, { code: -32000, message: err.message });
  }
});
rl.on('close', () => process.exit(0));

process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: 'init', result: { ready: true } }) + '\n');
