// A webrtccall element as the browser's peer: tests/browser/element-peer (built by meson), one
// pipeline with test sources, encoders and the element, driven through its stdin and watched
// through the JSON lines of its stdout.
//
//   const element = await startElement(server, {label: 'called-vp9', video: 'vp9'});
//   await element.waitState('logged-in');
//   element.send('call alice');                     // call, answer, reject, hangup, stop, play
//   await element.waitState('in-call');
//   await element.expectMediaFrom('alice');         // the browser's picture and tone, decoded
//   await element.stop();
//
// The element sends bob's identity by default (media.mjs: an orange field with a ball, 880 Hz),
// so a page of alice's (SMPTE bars, 440 Hz) and the element can each tell the other's media
// from their own. Its standard error, with GST_DEBUG, goes to <logsDir>/<label>-element.log.

import {spawn} from 'node:child_process';
import {closeSync, openSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';

import {expectMediaFrom} from './checks.mjs';
import {HEIGHT, IDENTITIES, WIDTH} from './media.mjs';
import {logsDir, repoRoot} from './server.mjs';
import {expectRtp} from './stats.mjs';

const binary = process.env.WEBRTCCALL_ELEMENT_PEER ||
               join(repoRoot, 'build', 'tests', 'browser', 'element-peer');

// The video codecs the element is tested with against Chromium: `encoder` is element-peer's
// --video, `mime` what Chromium's getStats() names it.
export const VIDEO_CODECS = [
  {name : 'VP8', encoder : 'vp8', mime : 'video/VP8'},
  {name : 'VP9', encoder : 'vp9', mime : 'video/VP9'},
  {name : 'H.264', encoder : 'h264', mime : 'video/H264'},
];

export const ELEMENT_USER = 'appliance';
const TIMEOUT_MS = 15_000;
// A frame count that shows video advancing, not a lucky frame or two.
const FRAMES = 15;

const running = new Set();
process.on('exit', () => {
  for (const child of running)
    child.kill('SIGKILL');
});

// Starts element-peer logged in to `server` as `user`, sending `identity`'s picture and tone
// encoded with `video` (an encoder of VIDEO_CODECS, or 'none') and Opus; `manualAnswer` turns
// auto-answer off, `properties` sets more of the element's (gst-launch syntax), `namespace`
// runs it in that network namespace instead of this process's.
export async function startElement(server, {
  label,
  user = ELEMENT_USER,
  video = 'vp8',
  identity = 'bob',
  manualAnswer = false,
  properties = '',
  namespace = null,
} = {}) {
  const [pattern, ...options] = IDENTITIES[identity].video.replace(/^pattern=/, '').split(' ');
  const flags = {
    server : server.url,
    user,
    video,
    pattern,
    tone : String(IDENTITIES[identity].frequency),
  };
  const args = Object.entries(flags).flatMap(([ flag, value ]) => [`--${flag}`, value]);
  if (options.length)
    args.push('--video-options', options.join(' '));
  if (manualAnswer)
    args.push('--manual-answer');
  if (properties)
    args.push('--properties', properties);
  const logFile = join(logsDir(), `${label}-element.log`);
  const log = openSync(logFile, 'w');
  // `ip netns exec` execs element-peer: the child's pid and pipes stay its own.
  const [command, commandArgs] =
      namespace ? [ 'ip', [ 'netns', 'exec', namespace, binary, ...args ] ] : [ binary, args ];
  const child = spawn(command, commandArgs, {
    stdio : [ 'pipe', 'pipe', log ],
    env : {
      ...process.env,
      GST_DEBUG : process.env.GST_DEBUG || '*:2,webrtccall:6,webrtcbin:4,webrtcice:4',
      GST_DEBUG_NO_COLOR : '1',
    },
  });
  closeSync(log);
  running.add(child);
  const element = new ElementPeer(child, label, logFile);
  child.on('exit', () => running.delete(child));
  // Generous: the first start on a machine builds GStreamer's plugin registry.
  await element.waitFor('the pipeline playing', (e) => e.event === 'playing', {timeoutMs : 60_000});
  return element;
}

class ElementPeer {
  constructor(child, label, logFile) {
    this.child = child;
    this.label = label;
    this.logFile = logFile;
    this.events = [];
    this.stateCursor = 0; // waitState() looks past the states it has already matched
    this.waiters = new Set();
    this.exited = null;
    createInterface({input : child.stdout}).on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        event = {event : 'unparsed', line};
      }
      event.at = Date.now();
      this.events.push(event);
      for (const waiter of this.waiters)
        waiter.check();
    });
    child.on('exit', (code, signal) => {
      this.exited = signal || `exit ${code}`;
      for (const waiter of this.waiters)
        waiter.check();
    });
  }

  send(command) { this.child.stdin.write(`${command}\n`); }

  // Resolves with the first event from index `since` on for which match(event) holds. Fails
  // when the deadline passes, the program exits, or the element posts an error.
  waitFor(what, match, {since = 0, timeoutMs = TIMEOUT_MS} = {}) {
    return new Promise((resolve, reject) => {
      let next = since;
      const waiter = {
        check : () => {
          for (; next < this.events.length; next++) {
            const event = this.events[next];
            if (match(event, next)) {
              finish();
              resolve({...event, index : next});
              return;
            }
            if (event.event === 'error') {
              finish();
              reject(this.failure(`${what}: the element failed: ${JSON.stringify(event)}`));
              return;
            }
          }
          if (this.exited) {
            finish();
            reject(this.failure(`${what}: element-peer ended (${this.exited})`));
          }
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(this.failure(`${what} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  // Waits for a state change to `state` (and `reason`, if given) after the last one matched.
  async waitState(state, {reason, timeoutMs} = {}) {
    const what = `element state ${state}${reason === undefined ? '' : ` (${reason})`}`;
    const found = await this.waitFor(what,
                                     (e) => e.event === 'state' && e.state === state &&
                                            (reason === undefined || e.reason === reason),
                                     {since : this.stateCursor, timeoutMs});
    this.stateCursor = found.index + 1;
    return found;
  }

  // The element's src pads deliver `identity`'s picture (media.mjs) at the fake camera's size,
  // FRAMES more frames after that, and its tone, within 5 % and clearly audible. `audio: false`
  // skips the tone.
  async expectMediaFrom(identity, {audio = true, timeoutMs = TIMEOUT_MS} = {}) {
    const {pattern, frequency} = IDENTITIES[identity];
    const since = this.events.length;
    const picture = await this.waitFor(
        `the element seeing ${identity}'s ${pattern} picture at ${WIDTH}x${HEIGHT}`,
        (e) => e.event === 'media' && e.video.pattern === pattern && e.video.width === WIDTH &&
               e.video.height === HEIGHT,
        {since, timeoutMs});
    const start = picture.video.frames;
    await this.waitFor(`${FRAMES} more frames at the element (from ${start})`,
                       (e) => e.event === 'media' && e.video.frames >= start + FRAMES &&
                              e.video.pattern === pattern,
                       {since : picture.index + 1, timeoutMs});
    if (audio) {
      await this.waitFor(`the element hearing ${frequency} Hz`,
                         (e) => e.event === 'media' && e.audio.level > 0.01 &&
                                Math.abs(e.audio.frequency - frequency) <= frequency * 0.05,
                         {since, timeoutMs});
    }
  }

  // The last state the element reported.
  lastState() { return this.events.filter((e) => e.event === 'state').at(-1); }

  failure(text) {
    const recent = this.events.slice(-12).map((e) => `  ${this.label}: ${JSON.stringify(e)}`);
    let logTail = '';
    try {
      logTail = readFileSync(this.logFile, 'utf8')
                    .split('\n')
                    .filter((line) => /WARN|ERROR|webrtccall/.test(line))
                    .slice(-15)
                    .map((line) => `  ${this.label} log: ${line}`)
                    .join('\n');
    } catch {
      // no log yet
    }
    return new Error(`${this.label}: ${text}\n  recent events:\n${recent.join('\n')}\n` +
                     `${logTail}\n  (whole log: ${this.logFile})`);
  }

  // Asks the program to quit (the element hangs up and logs out), then makes sure it has.
  // Under the sanitizers (WEBRTCCALL_TEST_SANITIZERS, tests/sanitizers/meson.build) it must
  // also exit cleanly: LeakSanitizer checks it at exit, and a report ends it with status 1.
  async stop() {
    const sanitizers = Boolean(process.env.WEBRTCCALL_TEST_SANITIZERS);
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.stdin.end('quit\n');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), sanitizers ? 30_000 : 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (sanitizers && this.exited !== 'exit 0')
      throw this.failure(`element-peer did not exit cleanly (${this.exited}); ` +
                         'a sanitizer\'s report is at the end of its log');
  }
}

// A call between a page of alice's and the element carries media both ways: the page shows and
// plays the element's (bob's) picture and tone, and Chromium decodes `codec` (of VIDEO_CODECS)
// and Opus; the element decodes alice's picture and tone. A receive-only page (`pageSends`
// false) sends nothing, so only the first half applies.
export async function expectBothWays(page, label, element, codec, {pageSends = true} = {}) {
  await Promise.all([
    expectMediaFrom(page, label, 'bob'),
    expectRtp(page, label, {video : codec.mime, sends : pageSends}),
    pageSends ? element.expectMediaFrom('alice') : Promise.resolve(),
  ]);
}
