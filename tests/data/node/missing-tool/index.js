'use strict';
exports.register = (api) => {
  api.registerTool({ name: 'present', execute: () => 'here' });
  api.registerTool({ name: 'extra', description: 'registered only by the code', execute: () => 'extra' });
};
