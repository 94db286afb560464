'use strict';
// A module-shape Aleph plugin: the app's host script calls register(api).
// No network, no npm dependencies: the forecast is computed from the city name and the day.

const CONDITIONS = ['sunny', 'partly cloudy', 'cloudy', 'light rain', 'showers', 'windy', 'fog'];

function seedOf(text) {
  let h = 2166136261;
  for (const ch of text.toLowerCase()) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

function forecastFor(city, days, units, dayZero) {
  const seed = seedOf(city);
  const out = [];
  for (let i = 0; i < days; i += 1) {
    const s = (seed + Math.imul(i + dayZero, 2654435761)) >>> 0;
    const celsius = Math.round((((s % 3000) / 100) - 5) * 10) / 10;
    out.push({
      day: i,
      condition: CONDITIONS[s % CONDITIONS.length],
      temperature: units === 'imperial' ? Math.round((celsius * 9 / 5 + 32) * 10) / 10 : celsius,
      precipitation_mm: (s >>> 8) % 12,
    });
  }
  return out;
}

function register(api) {
  const units = api.config.units === 'imperial' ? 'imperial' : 'metric';

  api.registerTool({
    name: 'forecast',
    description: 'Forecast for a city over the next days (deterministic, no network).',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city'],
    },
    async execute(args) {
      const city = String(args.city || '').trim();
      if (!city) throw new Error('city must not be empty');
      const days = Math.min(Math.max(Number(args.days) || 3, 1), 7);
      const now = await api.call('time.now');
      const dayZero = Math.floor(now.unix / 86400);
      // Remember how often each city was asked for, in the plugin's own key/value store.
      const key = `asked:${city.toLowerCase()}`;
      const asked = ((await api.call('kv.get', { key })) || 0) + 1;
      await api.call('kv.set', { key, value: asked });
      api.log(`forecast for ${city} (${days} days, asked ${asked} times)`);
      return { city, units, days: forecastFor(city, days, units, dayZero), asked };
    },
  });

  // Intercepts every tool_invoked event and adds a field saying who looked at it.
  api.on('tool_invoked', function stampToolCall(event) {
    const data = { ...(event.data || {}), weather_checked: true };
    return api.intercept(data);
  }, { priority: 0 });
}

module.exports = { register };
