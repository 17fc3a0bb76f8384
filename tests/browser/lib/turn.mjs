// coturn (Debian's turnserver) in a network namespace, for calls that only a relay can carry.
//
//   const turn = await startCoturn('turn-issued', {namespace, address: '10.99.0.1',
//                                   auth: ['--use-auth-secret', '--static-auth-secret', S]});
//   turn.allocations()   // the users it has given a relay address to
//   await turn.stop();
//
// It listens and relays on one address, UDP and TCP, no TLS; its log goes to
// <logsDir>/<name>-coturn.log, what it prints before opening it to <name>-coturn.out.

import {execFileSync, spawn} from 'node:child_process';
import {closeSync, openSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {logsDir} from './server.mjs';

export const TURN_PORT = 3478;
const START_TIMEOUT_MS = 10_000;

const running = new Set();
process.on('exit', () => {
  for (const child of running)
    child.kill('SIGKILL');
});

// Whether something in `namespace` listens for UDP on address:port.
function listening(namespace, address, port) {
  const sockets = execFileSync('ip', [ 'netns', 'exec', namespace, 'ss', '-lunH' ], {
    encoding : 'utf8',
  });
  return sockets.includes(`${address}:${port}`);
}

export async function startCoturn(name, {namespace, address, auth}) {
  const logFile = join(logsDir(), `${name}-coturn.log`);
  writeFileSync(logFile, ''); // this run's only
  const settings = {
    'listening-ip' : address,
    'relay-ip' : address,
    'listening-port' : TURN_PORT,
    'realm' : 'webrtccall.test',
    // A file of its own, which it writes line by line (its stdout, to a file, is buffered), with
    // the sessions' allocations (verbose).
    'log-file' : logFile,
    'pidfile' : join(logsDir(), `${name}-coturn.pid`),
    'min-port' : 49152,
    'max-port' : 49999,
  };
  const flags = [ 'simple-log', 'verbose', 'no-stdout-log', 'no-tls', 'no-dtls', 'no-cli' ];
  const args = [
    // Debian's /etc/turnserver.conf is not ours to depend on.
    '-c', '/dev/null', ...Object.entries(settings).flatMap(([ k, v ]) => [`--${k}`, String(v)]),
    ...flags.map((flag) => `--${flag}`), ...auth
  ];
  // What it says before its log file is open.
  const log = openSync(join(logsDir(), `${name}-coturn.out`), 'w');
  // `ip netns exec` execs turnserver: the child's pid is coturn's.
  const child = spawn('ip', [ 'netns', 'exec', namespace, 'turnserver', ...args ], {
    stdio : [ 'ignore', log, log ],
  });
  closeSync(log);
  running.add(child);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = signal || `exit ${code}`;
    running.delete(child);
  });

  // coturn says nothing on a pipe when it is ready; its UDP socket appearing is the sign.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!listening(namespace, address, TURN_PORT)) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`coturn did not start listening on ${address}:${TURN_PORT} ` +
                      `(${exited || 'timed out'}; log: ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    logFile,
    // The user names of every successful allocation so far, from coturn's log.
    allocations() {
      const users = new Set();
      for (const match of readFileSync(logFile, 'utf8')
               .matchAll(/user <([^>]*)>: incoming packet ALLOCATE processed, success/g))
        users.add(match[1]);
      return [...users ];
    },
    async stop() {
      if (exited)
        return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
