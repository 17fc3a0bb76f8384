// webrtccall-bench-peer (tools/bench/bench-peer.cpp) as a child process: commands to its
// stdin, its JSON events from stdout, each with the wall-clock time it reports.
//
//   const alice = await startPeer({server: url, user: 'alice', args: ['--ice-addresses', '127.0.0.1']});
//   alice.send('call bob');
//   const first = await alice.waitFor('first frame', (e) => e.event === 'first-frame');

import {spawn} from 'node:child_process';
import {closeSync, openSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';

import {buildDir} from './paths.mjs';

const running = new Set();
process.on('exit', () => {
  for (const child of running)
    child.kill('SIGKILL');
});

export async function startPeer({server, user, args = [], logDir, env = {}}) {
  const binary = join(buildDir, 'tools', 'bench', 'webrtccall-bench-peer');
  const log = openSync(join(logDir, `peer-${user}.log`), 'a');
  const child = spawn(binary, ['--server', server, '--user', user, ...args], {
    stdio : [ 'pipe', 'pipe', log ],
    env : {...process.env, GST_DEBUG : process.env.GST_DEBUG || '*:1', ...env},
  });
  closeSync(log);
  running.add(child);
  child.on('exit', () => running.delete(child));
  const peer = new Peer(child, user);
  await peer.waitFor('playing', (e) => e.event === 'playing', {timeoutMs : 60_000});
  await peer.waitFor('logged in', (e) => e.event === 'state' && e.state === 'logged-in');
  return peer;
}

class Peer {
  constructor(child, user) {
    this.child = child;
    this.user = user;
    this.events = [];
    this.waiters = new Set();
    this.exited = null;
    createInterface({input : child.stdout}).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({event : 'unparsed', line});
      }
      for (const check of this.waiters)
        check();
    });
    child.on('exit', (code, signal) => {
      this.exited = signal || `exit ${code}`;
      for (const check of this.waiters)
        check();
    });
  }

  send(command) { this.child.stdin.write(`${command}\n`); }

  // The first event from index `since` on that matches; fails on an error
  // event, the program's end or the deadline.
  waitFor(what, match, {since = 0, timeoutMs = 20_000} = {}) {
    return new Promise((resolve, reject) => {
      let next = since;
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        for (; next < this.events.length; next++) {
          const event = this.events[next];
          if (match(event)) {
            finish();
            resolve({...event, index : next});
            return;
          }
          if (event.event === 'state' && event.state === 'error') {
            finish();
            reject(new Error(`${this.user}: ${what}: error ${event.reason}`));
            return;
          }
        }
        if (this.exited) {
          finish();
          reject(new Error(`${this.user}: ${what}: bench-peer ended (${this.exited})`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.user}: ${what} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // Sends a command and waits for the reply event it names.
  async ask(command, event) {
    const since = this.events.length;
    this.send(command);
    return this.waitFor(command, (e) => e.event === event, {since});
  }

  async quit() {
    if (this.exited)
      return;
    const ended = new Promise((resolve) => this.child.once('exit', resolve));
    this.send('quit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await ended;
    clearTimeout(timer);
  }
}
