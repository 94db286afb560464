'use strict';
// Loaded with `--require` (NODE_OPTIONS) in an Aleph sandbox whose plugin was granted a list of
// hosts. The sandbox has no network of its own: the only way out is the app's filtering proxy,
// reachable through the Unix socket named by ALEPH_PROXY_SOCKET. Node 20 ignores HTTP_PROXY, so
// this points its clients at that socket: the built-in fetch (Node's bundled undici, through
// its global dispatcher) and the http/https global agents tunnel every connection with CONNECT.
// It only makes granted hosts reachable; it enforces nothing: code that bypasses it finds no
// network, and the proxy refuses hosts that were not granted.
(() => {
  const socketPath = process.env.ALEPH_PROXY_SOCKET;
  const installed = Symbol.for('aleph.sandbox.proxyPreload');
  if (!socketPath || globalThis[installed]) return;
  globalThis[installed] = true;

  const net = require('node:net');
  const tls = require('node:tls');
  const http = require('node:http');
  const https = require('node:https');
  const BRIDGE_PORT = 3128; // the in-sandbox TCP bridge to the same proxy (HTTP_PROXY)
  const HEAD_LIMIT = 64 * 1024;

  const bare = (host) => String(host || 'localhost').replace(/^\[(.*)\]$/, '$1');
  const authority = (host, port) => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);
  const isBridge = (host, port) => Number(port) === BRIDGE_PORT && ['127.0.0.1', 'localhost', '::1'].includes(host);

  function refused(message) {
    const err = new Error(message);
    err.code = 'ERR_ALEPH_SANDBOX_PROXY';
    return err;
  }

  // A socket to host:port through the proxy, handed to `callback(err, socket)` once the tunnel is up.
  function openTunnel(hostIn, portIn, callback) {
    const host = bare(hostIn);
    const port = Number(portIn);
    if (isBridge(host, port)) { // a client that speaks to HTTP_PROXY itself: hand it the proxy
      const direct = net.connect({ path: socketPath });
      direct.once('connect', () => callback(null, direct));
      direct.once('error', (err) => callback(err));
      return;
    }
    const socket = net.connect({ path: socketPath });
    let buffered = Buffer.alloc(0);
    let status = 0;
    let finished = false;
    const finish = (err) => {
      if (finished) return;
      finished = true;
      socket.removeListener('data', onData);
      if (err) {
        socket.destroy();
        callback(err);
      } else {
        callback(null, socket);
      }
    };
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (status) return; // a refusal: the body is collected until the proxy closes
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > HEAD_LIMIT) finish(refused('the sandbox proxy sent an oversized answer'));
        return;
      }
      status = Number(buffered.subarray(0, end).toString('latin1').split(' ')[1]) || 502;
      if (status !== 200) {
        buffered = buffered.subarray(end + 4);
        return;
      }
      const rest = buffered.subarray(end + 4);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', finish);
      if (rest.length) socket.unshift(rest);
      finish(null);
    };
    const onEnd = () => {
      const body = buffered.toString('utf8').trim();
      finish(refused(body || `the sandbox proxy refused ${authority(host, port)} (status ${status || 'none'})`));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', finish);
    socket.once('connect', () => {
      const target = authority(host, port);
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
  }

  function secure(socket, servername, options, callback) {
    const tlsSocket = tls.connect({ ...options, socket, servername });
    const onError = (err) => callback(err);
    tlsSocket.once('error', onError);
    tlsSocket.once('secureConnect', () => {
      tlsSocket.removeListener('error', onError);
      callback(null, tlsSocket);
    });
  }

  // fetch(): Node's bundled undici keeps its dispatcher under this symbol (undici's documented
  // global); touching a fetch class loads undici, which installs its default Agent there.
  const dispatcherKey = Symbol.for('undici.globalDispatcher.1');
  void globalThis.Headers;
  const Agent = globalThis[dispatcherKey] && globalThis[dispatcherKey].constructor;
  if (typeof Agent === 'function') {
    globalThis[dispatcherKey] = new Agent({
      connect(opts, callback) {
        const isHttps = opts.protocol === 'https:';
        const host = bare(opts.hostname);
        const port = Number(opts.port) || (isHttps ? 443 : 80);
        openTunnel(host, port, (err, socket) => {
          if (err) return callback(err);
          if (!isHttps) return callback(null, socket);
          const servername = opts.servername || (net.isIP(host) ? undefined : host);
          return secure(socket, servername, { ALPNProtocols: ['http/1.1'] }, callback);
        });
      },
    });
  }

  // http / https modules: global agents whose connections are tunnels.
  class TunnelAgent extends http.Agent {
    createConnection(options, callback) {
      openTunnel(options.host, options.port || 80, callback);
    }
  }
  class TunnelHttpsAgent extends https.Agent {
    createConnection(options, callback) {
      const host = bare(options.host);
      openTunnel(host, options.port || 443, (err, socket) => {
        if (err) return callback(err);
        const servername = options.servername || (net.isIP(host) ? undefined : host);
        const tlsSocket = tls.connect({ ...options, socket, servername });
        return callback(null, tlsSocket);
      });
    }
  }
  http.globalAgent = new TunnelAgent({ keepAlive: true });
  https.globalAgent = new TunnelHttpsAgent({ keepAlive: true });
})();
