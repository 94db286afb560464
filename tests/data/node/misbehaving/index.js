'use strict';
// Every way a plugin can misbehave, one tool each.
exports.register = (api) => {
  api.registerTool({ name: 'echo', execute: async (args) => ({ echo: args }) });
  // Dies while a call is running: an uncaught exception outside the call's promise.
  api.registerTool({ name: 'crash', execute: () => new Promise(() => { setTimeout(() => { throw new Error('boom from crash tool'); }, 10); }) });
  // Never answers, but keeps the event loop free (cancellable).
  api.registerTool({ name: 'hang', execute: (_args, ctx) => new Promise((resolve) => { ctx.signal.addEventListener('abort', () => resolve('aborted')); }) });
  // Never answers and blocks the event loop for good.
  api.registerTool({ name: 'spin', execute: () => { for (;;) { /* busy */ } } });
  // A single 20 MB line on stdout.
  api.registerTool({ name: 'huge', execute: () => { process.stdout.write('"' + 'x'.repeat(20 * 1024 * 1024) + '"\n'); return new Promise(() => {}); } });
  // Floods stderr and writes garbage to stdout, then answers.
  api.registerTool({ name: 'flood', execute: () => {
    for (let i = 0; i < 5000; i += 1) process.stderr.write(`noise line ${i}\n`);
    process.stdout.write('this is not json\n{"also": "not json-rpc"}\n');
    return 'survived';
  } });
  api.registerTool({ name: 'fail', execute: () => { throw new Error('the input was wrong'); } });
  api.registerTool({ name: 'pid', execute: () => process.pid });
  api.on('message_received', function slowHook(event) {
    return new Promise((resolve) => setTimeout(() => resolve(api.block(`too slow for ${event.event}`)), 5000));
  });
};
