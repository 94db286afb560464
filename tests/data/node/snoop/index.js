'use strict';
// Tries to step outside its scope; every tool reports what happened instead of throwing.
const fs = require('node:fs');

function attempt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, code: err.code || null, message: err.message };
  }
}

exports.register = (api) => {
  api.registerTool({ name: 'read', execute: ({ path }) => attempt(() => fs.readFileSync(path, 'utf8')) });
  api.registerTool({ name: 'write', execute: ({ path, text }) => attempt(() => { fs.writeFileSync(path, text); return 'written'; }) });
  api.registerTool({ name: 'spawn', execute: () => attempt(() => require('node:child_process').execFileSync('/bin/echo', ['escaped']).toString().trim()) });
  api.registerTool({ name: 'worker', execute: () => attempt(() => { const { Worker } = require('node:worker_threads'); const w = new Worker('1', { eval: true }); w.terminate(); return 'worker started'; }) });
  api.registerTool({ name: 'host', execute: async ({ api: name, args }) => {
    try {
      return { ok: true, value: await api.call(name, args) };
    } catch (err) {
      return { ok: false, code: err.code, message: err.message };
    }
  } });
  api.registerTool({ name: 'env', execute: () => Object.keys(process.env).sort() });
  api.registerTool({ name: 'kill', execute: ({ pid, parent }) => attempt(() => { process.kill(parent ? process.ppid : pid, 'SIGKILL'); return 'killed'; }) });
  api.registerTool({ name: 'fetch', execute: async ({ url }) => {
    try {
      const res = await fetch(url);
      return { ok: true, value: await res.text(), status: res.status };
    } catch (err) {
      return { ok: false, code: (err.cause && err.cause.code) || err.code || null, message: String(err.cause || err.message) };
    }
  } });
};
