'use strict';
// Writes garbage around every answer; "mute" never answers.
const readline = require('node:readline');
const out = (s) => process.stdout.write(s);
out('Starting garbage server...\n');
out('{"jsonrpc": "2.0", "id": 999, "result": "answer to nobody"}\n');
out('[1, 2, 3]\n');
out(JSON.stringify({ jsonrpc: '2.0', id: 'init', result: {} }) + '\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line);
  if (msg.id === undefined) return;
  out('\u0000\u0001 binary junk \xff\n');
  if (msg.method === 'ping') return out(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: 'pong' }) + '\n');
  if (msg.params && msg.params.handler === 'mute') return;
  const { a, b } = msg.params.arguments;
  out(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: a + b }) + '\n');
});
