'use strict';
// One of everything a plugin can register, each doing something you can see.
const fs = require('node:fs');
const path = require('node:path');

const OUTBOX = path.join(__dirname, 'outbox', 'messages.log');

// A tiny local rule set: the first rule whose words all appear in the prompt answers it.
const RULES = [
  [['hello'], (greeting) => `${greeting}! I answer from a few local rules, without any network.`],
  [['time'], () => `It is ${new Date().toISOString().slice(11, 16)} UTC.`],
  [['what', 'can', 'you'], () => 'I can greet, tell the time and repeat what you say.'],
  [['repeat'], (_g, prompt) => prompt.replace(/^.*?repeat\s*/i, '')],
];

exports.register = (api) => {
  const clock = { timer: null, started: null, ticks: 0 };

  api.registerService({
    id: 'clock',
    description: 'Counts the seconds while it runs.',
    start() {
      if (clock.timer) return 'already running';
      clock.started = new Date().toISOString();
      clock.ticks = 0;
      clock.timer = setInterval(() => { clock.ticks += 1; }, 1000);
      api.log.info('clock started');
      return 'started';
    },
    stop() {
      clearInterval(clock.timer);
      clock.timer = null;
      api.log.info(`clock stopped after ${clock.ticks} ticks`);
      return 'stopped';
    },
  });

  api.registerTool({
    name: 'clock_status',
    description: 'Whether the clock service runs, since when, and its tick count.',
    execute: () => ({ running: clock.timer !== null, started: clock.started, ticks: clock.ticks }),
  });

  api.registerProvider({
    id: 'rules',
    description: 'Answers a prompt from a tiny local rule set (no network).',
    complete: ({ prompt }) => {
      const text = String(prompt || '');
      const words = text.toLowerCase();
      const rule = RULES.find(([needs]) => needs.every((w) => words.includes(w)));
      return { text: rule ? rule[1](api.config.greeting || 'Hello', text) : "I don't know that one yet." };
    },
  });

  api.registerChannel({
    id: 'outbox',
    description: 'Sends a message by appending it to outbox/messages.log.',
    send: ({ to, text }) => {
      const line = JSON.stringify({ at: new Date().toISOString(), to: to || 'everyone', text: String(text || '') });
      fs.appendFileSync(OUTBOX, line + '\n');
      return { delivered: true, to: to || 'everyone' };
    },
  });

  api.registerTool({
    name: 'receive',
    description: 'An incoming message on the outbox channel: runs message_received through every hook.',
    execute: ({ text }) => api.call('events.emit', { event: 'message_received', data: { text, channel: 'outbox' } }),
  });

  api.registerHttpRoute({
    path: '/status',
    method: 'GET',
    handler: ({ query }) => ({
      status: 200,
      body: { plugin: api.id, clock: { running: clock.timer !== null, ticks: clock.ticks }, query },
    }),
  });

  api.registerCli({
    name: 'greet',
    handler: ({ args }) => {
      if (args.includes('--fail')) return { stdout: '', stderr: 'greet: --fail was asked for\n', exit_code: 3 };
      return { stdout: `${api.config.greeting || 'Hello'}, ${args.join(' ') || 'world'}!\n`, exit_code: 0 };
    },
  });

  api.registerCommand({ name: 'today', handler: () => new Date().toDateString() });
};
