'use strict';
// Preloaded with `node -r` into the tutorial's server (shared/seed/server.js), which must run
// unchanged. That server hard-codes `new (require('ws').Server)({port: 9090})` on every
// interface; tests need it on a port of their choosing, on loopback only, and need to learn the
// port. So, before server.js runs, we replace ws's server class with a subclass that:
//   - listens on TUTORIAL_PORT (default 0: any free port) at 127.0.0.1 instead, and
//   - once listening, prints `ws://127.0.0.1:<port>/` as the process's first line of stdout,
//     the way our own server announces its URL, so test fixtures treat both servers alike.
//
// Usage: NODE_PATH=<repo>/node_modules TUTORIAL_PORT=0 \
//          node -r <repo>/tests/interop/tutorial_port.cjs <shared>/seed/server.js

const path = require('path');

function wantedPort() {
  const raw = process.env.TUTORIAL_PORT;
  if (raw === undefined || raw === '') return 0;
  if (!/^[0-9]+$/.test(raw) || Number(raw) > 65535) {
    throw new Error(`tutorial_port.cjs: TUTORIAL_PORT must be a port number 0-65535, got "${raw}"`);
  }
  return Number(raw);
}

// Patch the very module object that server.js will get from require('ws'). server.js lives
// outside the repo, so resolve 'ws' as it would: from its own directory, which (through
// NODE_PATH) finds the repo's node_modules. Node caches modules by file name, so patching
// this object patches what server.js sees. Fall back to our own resolution (the repo's
// node_modules, found by walking up from this file) if there is no main script.
function resolveWs() {
  const main = process.argv[1];
  if (main) {
    try {
      return require.resolve('ws', { paths: [path.dirname(path.resolve(main))] });
    } catch (e) {
      // fall through
    }
  }
  try {
    return require.resolve('ws');
  } catch (e) {
    throw new Error('tutorial_port.cjs: cannot find the npm package "ws"; run tools/setup ' +
                    '(it installs node_modules) and set NODE_PATH=<repo>/node_modules');
  }
}

const ws = require(resolveWs());
const Original = ws.WebSocketServer || ws.Server;
if (typeof Original !== 'function') {
  throw new Error('tutorial_port.cjs: the "ws" package exports no WebSocketServer class');
}

const port = wantedPort();
let announced = false;

class TutorialPortServer extends Original {
  constructor(options, callback) {
    // Only a server that opens its own port is moved; one given an existing HTTP server
    // (options.server) or noServer has no port of its own to replace.
    if (options && options.port !== undefined && !options.server && !options.noServer) {
      options = Object.assign({}, options, { port, host: '127.0.0.1' });
    }
    super(options, callback);
    this.once('listening', () => {
      if (announced) return; // one URL line only, even if a script made several servers
      announced = true;
      const addr = this.address();
      // process.stdout to a pipe or file is synchronous on Linux, so this line is written
      // before any console.log that a connection handler of server.js could make.
      process.stdout.write(`ws://127.0.0.1:${addr.port}/\n`);
    });
  }
}

ws.Server = TutorialPortServer;
ws.WebSocketServer = TutorialPortServer;
