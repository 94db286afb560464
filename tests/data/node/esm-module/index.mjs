// An ES module plugin using Aleph's positional forms.
export function register(api) {
  api.registerTool('shout', 'Upper-case a text', { type: 'object' }, ({ text }) => `${String(text).toUpperCase()}${api.config.suffix}`);
  api.registerHook('PreToolUse', (event) => api.block(`no ${event.data.tool}`), 'high');
  api.registerCommand({ name: 'esm:hello', description: 'Say hello' });
}
