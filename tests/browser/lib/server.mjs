// Our signaling server as a child process, serving the web client from signaling/web.
//
//   const server = await startServer('restart');   // a name for its log file
//   server.httpUrl   // http://127.0.0.1:PORT/  (the page)
//   server.url       // ws://127.0.0.1:PORT/    (what the server printed)
//   await server.restart();                        // stop, then listen again on the same port
//   await server.stop();
//
//   // Elsewhere: in network namespace NS, on HOST, with more options.
//   await startServer('turn', {namespace: NS, host: '10.99.0.1', args: ['--turn-secret', S]});
//
// The binary is $WEBRTCCALL_SIGNALING (meson sets it) or build/signaling/webrtccall-signaling.
// Its standard error, with --verbose, goes to a file in logsDir() for debugging.

import {spawn} from 'node:child_process';
import {closeSync, mkdirSync, openSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// $WEBRTCCALL_WEB_ROOT runs the tests against another copy of the client.
export const webRoot = process.env.WEBRTCCALL_WEB_ROOT || join(repoRoot, 'signaling', 'web');

const binary = process.env.WEBRTCCALL_SIGNALING ||
               join(repoRoot, 'build', 'signaling', 'webrtccall-signaling');

// Where servers and pages write their logs: $WEBRTCCALL_BROWSER_LOGS (meson points it into the
// build folder) or a folder of this process in the temporary folder.
export function logsDir() {
  const dir = process.env.WEBRTCCALL_BROWSER_LOGS ||
              join(tmpdir(), `webrtccall-browser-logs-${process.pid}`);
  mkdirSync(dir, {recursive : true});
  return dir;
}

// Servers still running when this process exits (a failed test, a timeout) die with it rather
// than outlive their network namespace.
const running = new Set();
process.on('exit', () => {
  for (const child of running)
    child.kill('SIGKILL');
});

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000; // the server itself gives clients 2 s to answer its close

// Starts the binary and resolves with the child and the URL of its first line of output.
function launch(port, logFile, {host, args, namespace}) {
  return new Promise((resolvePromise, reject) => {
    const log = openSync(logFile, 'a');
    const serverArgs =
        [ '--host', host, '--port', String(port), '--web-root', webRoot, '--verbose', ...args ];
    // `ip netns exec` execs the server, so the child's pid stays the server's and kill() reaches
    // it.
    const [command, commandArgs] =
        namespace ? [ 'ip', [ 'netns', 'exec', namespace, binary, ...serverArgs ] ]
                  : [ binary, serverArgs ];
    const child = spawn(command, commandArgs, {stdio : [ 'ignore', 'pipe', log ]});
    closeSync(log); // the child has its own descriptor
    running.add(child);
    child.on('exit', () => running.delete(child));
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${binary} printed no URL within ${START_TIMEOUT_MS} ms (log: ${logFile})`));
    }, START_TIMEOUT_MS);
    const fail = (why) => {
      clearTimeout(timer);
      reject(new Error(`${binary} --port ${port}: ${why} (log: ${logFile})`));
    };
    child.on('error', (error) => fail(error.message));
    const early = (code, signal) => fail(`exited (${signal || code}) before printing its URL`);
    child.on('exit', early);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (output.includes('\n'))
        return; // keep draining, so the pipe never fills
      output += chunk;
      const newline = output.indexOf('\n');
      if (newline < 0)
        return;
      clearTimeout(timer);
      child.off('exit', early);
      resolvePromise({child, url : output.slice(0, newline).trim()});
    });
  });
}

// Resolves with how the child ended: 'exit N' or the signal's name.
function waitExit(child, timeoutMs) {
  const how = () => child.signalCode || `exit ${child.exitCode}`;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(how());
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise(how());
    });
  });
}

// Under the sanitizers (WEBRTCCALL_TEST_SANITIZERS, tests/sanitizers/meson.build) a stopped
// server must exit cleanly: LeakSanitizer checks it at exit, and a report ends it with status 1.
const sanitizers = Boolean(process.env.WEBRTCCALL_TEST_SANITIZERS);

// `host` is the address it listens on, `args` more options, `namespace` a network namespace
// to run it in (by default this process's).
export async function startServer(name = 'server',
                                  {host = '127.0.0.1', args = [], namespace = null} = {}) {
  const where = {host, args, namespace};
  const logFile = join(logsDir(), `${name}-signaling.log`);
  writeFileSync(logFile, ''); // this run's only; a restart appends
  let {child, url} = await launch(0, logFile, where);
  const port = Number(new URL(url).port);
  if (!port)
    throw new Error(`cannot read a port from the server's line "${url}"`);

  const server = {
    url,
    httpUrl : `http://${host}:${port}/`,
    port,
    logFile,
    // SIGTERM, as an operator would: the server says goodbye to its clients, then exits.
    async stop() {
      if (!child)
        return;
      const stopping = child;
      child = null;
      stopping.kill('SIGTERM');
      const how = await waitExit(stopping, sanitizers ? 30_000 : STOP_TIMEOUT_MS);
      if (sanitizers && how !== 'exit 0')
        throw new Error(`the server did not exit cleanly when stopped (${how}); ` +
                        `a sanitizer's report is at the end of ${logFile}`);
    },
    // Listens again on the same port (after a stop, or stopping it first).
    async restart() {
      await server.stop();
      ({child, url} = await launch(port, logFile, where));
      server.url = url;
    },
  };
  return server;
}
