// The call benchmarks of docs/benchmarks.md ("Calls"): set-up time, glass-to-glass latency,
// cost per call. Run by tools/bench/run inside a network namespace of its own
// (tests/browser/netns.sh), which Chromium needs to gather candidates.
//
//   node tools/bench/calls.mjs --out DIR [--calls 20] [--only setup,latency,cost]
//       [--latency-seconds 20] [--latency-rounds 3] [--latency-configs KEY,KEY] [--load-seconds 60]
//
// Writes DIR/results.json (every sample) and logs to DIR/logs/.

import {execFileSync, spawn} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {loadavg} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {parseArgs} from 'node:util';

import {launchBrowser} from '../../tests/browser/lib/browser.mjs';
import {waitConnection, waitState} from '../../tests/browser/lib/client.mjs';
import {startServer} from '../../tests/browser/lib/server.mjs';

import {openBenchPage, startTutorialServer} from './lib/pages.mjs';
import {buildDir} from './lib/paths.mjs';
import {startPeer} from './lib/peer.mjs';

const {values : options} = parseArgs({
  options : {
    out : {type : 'string'},
    calls : {type : 'string', default : '20'},
    only : {type : 'string', default : 'setup,latency,cost'},
    'latency-seconds' : {type : 'string', default : '20'},
    'load-seconds' : {type : 'string', default : '60'},
    'latency-rounds' : {type : 'string', default : '3'},
    'latency-configs' : {type : 'string'}, // some of latencyBenchmarks()'s keys; default all
  },
});
const OUT = options.out;
const CALLS = Number(options.calls);
const ONLY = new Set(options.only.split(','));
const LOGS = join(OUT, 'logs');
mkdirSync(LOGS, {recursive : true});
process.env.WEBRTCCALL_BROWSER_LOGS = LOGS;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const wall = () => performance.timeOrigin + performance.now();
const log = (text) => console.log(`${new Date().toISOString().slice(11, 19)} ${text}`);

const resultsFile = join(OUT, 'results.json');
const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};
function save() { writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`); }

function machine() {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1];
  return {
    nproc : Number(execFileSync('nproc').toString().trim()),
    cpu,
    uptime : execFileSync('uptime').toString().trim(),
  };
}

// Load averages before and after each measurement: other engineers share the machine.
async function measured(name, fn) {
  const before = {uptime : execFileSync('uptime').toString().trim(), load : loadavg()};
  log(`${name}: start (${before.uptime})`);
  const value = await fn();
  const after = {uptime : execFileSync('uptime').toString().trim(), load : loadavg()};
  log(`${name}: done (${after.uptime})`);
  return {...value, before, after};
}

// A fake camera for the set-up pages: 640x480 at 30 fps, as the elements send.
function cameraFiles() {
  const dir = join(OUT, 'media');
  mkdirSync(dir, {recursive : true});
  const video = join(dir, 'camera-640x480.y4m'), audio = join(dir, 'tone.wav');
  if (!existsSync(video))
    execFileSync('gst-launch-1.0', [
      '-q', 'videotestsrc', 'num-buffers=120', 'pattern=smpte', 'horizontal-speed=4', '!',
      'video/x-raw,format=I420,width=640,height=480,framerate=30/1', '!', 'y4menc', '!',
      'filesink', `location=${video}`
    ]);
  if (!existsSync(audio))
    execFileSync('gst-launch-1.0', [
      '-q', 'audiotestsrc', 'num-buffers=400', 'samplesperbuffer=480', 'freq=440', '!',
      'audio/x-raw,format=S16LE,rate=48000,channels=1', '!', 'wavenc', '!', 'filesink',
      `location=${audio}`
    ]);
  return {video, audio};
}

// --- call set-up ------------------------------------------------------------------------------

// One call between two of our processes or pages, timed from the call (or click) to each
// side's first decoded frame. `caller` and `callee` are adapters: {call(), firstFrame(since),
// hangup(), idle()}.
async function timeCalls(name, caller, callee, calls) {
  const samples = [];
  for (let i = 0; i <= calls; i++) { // call 0 warms up and is kept apart
    await caller.reset?.();
    await callee.reset?.();
    const t0 = await caller.call();
    const [callerFirst, calleeFirst] =
        await Promise.all([ caller.firstFrame(t0), callee.firstFrame(t0) ]);
    const sample = {caller_ms : callerFirst - t0, callee_ms : calleeFirst - t0};
    sample.both_ms = Math.max(sample.caller_ms, sample.callee_ms);
    samples.push(sample);
    log(`${name} #${i}: caller ${sample.caller_ms.toFixed(0)} ms, callee ${
        sample.callee_ms.toFixed(0)} ms`);
    await caller.hangup();
    await Promise.all([ caller.idle(), callee.idle() ]);
    await sleep(500);
  }
  return {warmup : samples[0], samples : samples.slice(1)};
}

function elementSide(peer) {
  let since = 0;
  return {
    reset() { since = peer.events.length; },
    async call(calleeName) {
      const called = await peer.ask(`call ${calleeName ?? this.callee}`, 'called');
      return called.t;
    },
    async firstFrame() {
      const e = await peer.waitFor('first frame', (e) => e.event === 'first-frame', {since});
      return e.t;
    },
    async hangup() { peer.send('hangup'); },
    async idle() {
      await peer.waitFor('in-call', (e) => e.event === 'state' && e.state === 'in-call', {since});
      await peer.waitFor('back to logged-in after the call', (e) => e.event === 'state' &&
                                                                    e.state === 'logged-in',
                         {since});
    },
  };
}

function pageSide(page, label) {
  return {
    async reset() { await page.evaluate(() => { window.__bench.first = 0; }); },
    // Types the name, then clicks Call in the page, noting the click's time there.
    async call() {
      await page.fill('#callToUsernameInput', this.callee);
      return page.evaluate(() => {
        window.__bench.clickedAt = performance.timeOrigin + performance.now();
        document.getElementById('callBtn').click();
        return window.__bench.clickedAt;
      });
    },
    async firstFrame() {
      await page.waitForFunction(() => window.__bench.first > 0, null,
                                 {timeout : 20_000, polling : 50});
      return page.evaluate(() => window.__bench.first);
    },
    async hangup() { await page.click('#hangUpBtn'); },
    async idle() { await waitState(page, label, 'idle', 15_000); },
  };
}

async function login(page, label, name) {
  await waitState(page, label, 'login');
  await waitConnection(page, label, 'connected');
  await page.fill('#usernameInput', name);
  await page.click('#loginBtn');
  await waitState(page, label, 'idle');
  // The client asks for the camera after logging in; calls start once it has it.
  await page.waitForFunction(() => document.getElementById('localVideo').srcObject, null,
                             {timeout : 15_000});
}

async function setupBenchmarks() {
  const out = {};
  const peerArgs = [ '--ice-addresses', '127.0.0.1' ];

  // Element to element through our server: README.md's pipeline (vp8enc deadline=1) with the
  // element's defaults, then docs/element.md's low-delay advice (lag-in-frames=0, a lower
  // latency), then at libnice's own ICE pacing (20 ms; the element's default is 5 since
  // ice-pacing); 640x480 both ways. The floor likewise: at webrtcbin's defaults, with the
  // low-delay settings, and with faststart-min-packets=2 on its jitter buffers, which the
  // element sets itself since 5485247, that again sending video only from a keyframe asked for
  // once connected, as the element does (--fresh; without it the first picture shown is the
  // keyframe encoded before the call), and faststart with the element's ICE pacing.
  // The first call in each process comes as soon as both have logged in: it may wait for the
  // DTLS certificate, which the element makes on a thread of its own from NULL to READY
  // (login_ms: from PLAYING to logged in).
  for (const [key, extra] of [['element_element', []],
                              ['element_element_low', [ '--low-latency', '--latency', '20' ]],
                              ['element_element_pacing20', [ '--ice-pacing', '20' ]]]) {
    out[key] = await measured(`set-up ${key}`, async () => {
      const server = await startServer('bench-e2e');
      const args = [...peerArgs, ...extra ];
      const alice = await startPeer({server : server.url, user : 'alice', args, logDir : LOGS});
      const bob = await startPeer({server : server.url, user : 'bob', args, logDir : LOGS});
      const login_ms = Object.fromEntries([ alice, bob ].map((p) => {
        const playing = p.events.find((e) => e.event === 'playing');
        const loggedIn = p.events.find((e) => e.event === 'state' && e.state === 'logged-in');
        return [ p.user, playing?.t && loggedIn ? loggedIn.t - playing.t : null ];
      }));
      const caller = elementSide(alice);
      caller.callee = 'bob';
      const r = await timeCalls(key, caller, elementSide(bob), CALLS);
      await Promise.all([ alice.quit(), bob.quit() ]);
      await server.stop();
      return {...r, args : extra, login_ms};
    });
    save();
  }

  for (const [key, extra] of [['floor', []], ['floor_low', [ '--low-latency', '--latency', '20' ]],
                              ['floor_faststart', [ '--faststart', '2' ]],
                              ['floor_fresh', [ '--faststart', '2', '--fresh' ]],
                              ['floor_faststart_pacing5', [ '--faststart', '2', '--ice-pacing', '5' ]]]) {
    out[key] = await measured(`set-up ${key}`, async () => {
      const lines = execFileSync(join(buildDir, 'tools', 'bench', 'webrtccall-bench-floor'),
                                 [ '--calls', String(CALLS + 1), ...extra ],
                                 {stdio : [ 'ignore', 'pipe', 'inherit' ]})
                        .toString()
                        .trim()
                        .split('\n')
                        .map((l) => JSON.parse(l))
                        .map((s) => ({...s, both_ms : Math.max(s.caller_ms, s.callee_ms)}));
      return {warmup : lines[0], samples : lines.slice(1), args : extra};
    });
    save();
  }

  const camera = cameraFiles();
  const browsers = await Promise.all([ launchBrowser(camera), launchBrowser(camera) ]);
  try {
    // Browser to browser through the tutorial's server.js, the client pages served at its
    // origin.
    out.browser_browser_tutorial = await measured('set-up browser-browser (tutorial)', async () => {
      const tutorial = await startTutorialServer(LOGS);
      const a = await openBenchPage(browsers[0], tutorial.httpUrl);
      const b = await openBenchPage(browsers[1], tutorial.httpUrl);
      await login(a, 'alice', 'alice');
      await login(b, 'bob', 'bob');
      const caller = pageSide(a, 'alice');
      caller.callee = 'bob';
      const r = await timeCalls('browser-browser', caller, pageSide(b, 'bob'), CALLS);
      await Promise.all([ a.context().close(), b.context().close() ]);
      tutorial.stop();
      return r;
    });
    save();

    // Browser to browser through our server, for reference.
    const server = await startServer('bench-browser');
    out.browser_browser_ours = await measured('set-up browser-browser (ours)', async () => {
      const a = await openBenchPage(browsers[0], server.httpUrl);
      const b = await openBenchPage(browsers[1], server.httpUrl);
      await login(a, 'alice', 'alice');
      await login(b, 'bob', 'bob');
      const caller = pageSide(a, 'alice');
      caller.callee = 'bob';
      const r = await timeCalls('browser-browser (ours)', caller, pageSide(b, 'bob'), CALLS);
      await Promise.all([ a.context().close(), b.context().close() ]);
      return r;
    });
    save();

    // The element gathers on every interface here: the namespace's eth0, where Chromium is.
    for (const [key, elementCalls] of [['element_browser', true], ['browser_element', false]]) {
      out[key] = await measured(`set-up ${key}`, async () => {
        const page = await openBenchPage(browsers[0], server.httpUrl);
        await login(page, 'alice', 'alice');
        const peer =
            await startPeer({server : server.url, user : 'appliance', args : [], logDir : LOGS});
        const element = elementSide(peer);
        const browser = pageSide(page, 'alice');
        element.callee = 'alice';
        browser.callee = 'appliance';
        const r = elementCalls ? await timeCalls(key, element, browser, CALLS)
                               : await timeCalls(key, browser, element, CALLS);
        await peer.quit();
        await page.context().close();
        return r;
      });
      save();
    }
    await server.stop();
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
  return out;
}

// --- glass-to-glass latency -------------------------------------------------------------------

const LATENCY_SECONDS = Number(options['latency-seconds']);

async function elementLatency(name, args) {
  return measured(`latency ${name}`, async () => {
    const server = await startServer(`bench-latency-${name}`);
    const common = [ '--ice-addresses', '127.0.0.1', '--stamp', ...args ];
    const alice = await startPeer({server : server.url, user : 'alice', args : common, logDir : LOGS});
    const bob = await startPeer({server : server.url, user : 'bob', args : common, logDir : LOGS});
    alice.send('call bob');
    await Promise.all([ alice, bob ].map((p) => p.waitFor('first frame', (e) => e.event === 'first-frame')));
    await sleep(3000); // past the first frames and the encoders' ramp-up
    await Promise.all([ alice, bob ].map((p) => p.ask('latencies', 'latencies')));
    await sleep(LATENCY_SECONDS * 1000);
    const [a, b] = await Promise.all([ alice, bob ].map((p) => p.ask('latencies', 'latencies')));
    // What rtpbin's lip-sync delays each received stream by, at the end of the window.
    const offsets = await Promise.all([ alice, bob ].map((p) => p.ask('ts-offsets', 'ts-offsets')));
    await Promise.all([ alice.quit(), bob.quit() ]);
    await server.stop();
    return {samples : [...a.ms, ...b.ms ], unreadable : a.unreadable + b.unreadable, args,
            tsOffsets : {alice : offsets[0].offsets, bob : offsets[1].offsets}};
  });
}

async function browserLatency() {
  return measured('latency browser-browser', async () => {
    const tutorial = await startTutorialServer(LOGS);
    const browsers = await Promise.all([ launchBrowser(null), launchBrowser(null) ]);
    try {
      const a = await openBenchPage(browsers[0], tutorial.httpUrl, {stamps : true});
      const b = await openBenchPage(browsers[1], tutorial.httpUrl, {stamps : true});
      await login(a, 'alice', 'alice');
      await login(b, 'bob', 'bob');
      const caller = pageSide(a, 'alice');
      caller.callee = 'bob';
      await caller.call();
      await Promise.all([ caller.firstFrame(), pageSide(b, 'bob').firstFrame() ]);
      await sleep(3000);
      const take = (p) => p.evaluate(() => {
        const r = {ms : window.__bench.latencies, unreadable : window.__bench.unreadable};
        window.__bench.latencies = [];
        window.__bench.unreadable = 0;
        return r;
      });
      await Promise.all([ take(a), take(b) ]);
      await sleep(LATENCY_SECONDS * 1000);
      const [ra, rb] = await Promise.all([ take(a), take(b) ]);
      const size = await a.evaluate(() => {
        const v = document.getElementById('remoteVideo');
        return `${v.videoWidth}x${v.videoHeight}`;
      });
      return {samples : [...ra.ms, ...rb.ms ], unreadable : ra.unreadable + rb.unreadable, size};
    } finally {
      await Promise.all(browsers.map((b) => b.close()));
      tutorial.stop();
    }
  });
}

// Rounds of every configuration in turn, so that a neighbour's load, which comes and goes on a
// shared machine, falls on all of them alike; each round's median is kept besides the samples.
const LATENCY_ROUNDS = Number(options['latency-rounds']);
const LATENCY_CONFIGS = options['latency-configs'] ? new Set(options['latency-configs'].split(',')) : null;

async function latencyBenchmarks() {
  const out = {};
  const configs = [
    // README.md's pipeline and the element's defaults.
    ['element_default', () => elementLatency('default', [])],
    ...[ 0, 5, 20 ].map((ms) => [`element_low_${ms}`,
                                () => elementLatency(`low-${ms}`, [ '--low-latency', '--latency', String(ms) ])]),
    // The same with libvpx's fastest real-time speed (vp8enc's default cpu-used=0 is its
    // slowest): how much of the rest is the encoder.
    ...[ 5, 20 ].map((ms) => [`element_fast_${ms}`,
                             () => elementLatency(`fast-${ms}`, [ '--low-latency', '--latency', String(ms),
                                                                  '--encoder-options', 'cpu-used=8' ])]),
    // The application's side: sinks with processing-deadline=0 instead of basesink's 20 ms,
    // which a sink that syncs adds to the pipeline's latency (both sinks: the pipeline waits
    // for the largest).
    ...[ 20, 50 ].map((ms) => [`element_low_${ms}_pd0`,
                              () => elementLatency(`low-${ms}-pd0`, [ '--low-latency', '--latency', String(ms),
                                                                      '--processing-deadline', '0' ])]),
    // And without lip-sync, which delays the video to the audio's timing as a call's first
    // sender reports give it (docs/element.md).
    ['element_low_20_pd0_nosync',
     () => elementLatency('low-20-pd0-nosync', [ '--low-latency', '--latency', '20', '--processing-deadline', '0',
                                                 '--no-lip-sync' ])],
    ['browser_browser', () => browserLatency()],
  ].filter(([key]) => !LATENCY_CONFIGS || LATENCY_CONFIGS.has(key));
  if (LATENCY_CONFIGS && configs.length !== LATENCY_CONFIGS.size)
    throw new Error(`--latency-configs: unknown key among ${[...LATENCY_CONFIGS ].join(', ')}`);
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    for (const [key, run] of configs) {
      const r = await run();
      const sorted = [...r.samples ].sort((x, y) => x - y);
      const median = sorted[Math.floor(sorted.length / 2)];
      const entry = (out[key] ??= {samples : [], unreadable : 0, rounds : []});
      entry.samples.push(...r.samples);
      entry.unreadable += r.unreadable;
      entry.rounds.push({median, frames : r.samples.length, unreadable : r.unreadable, before : r.before,
                         after : r.after, size : r.size, args : r.args, tsOffsets : r.tsOffsets});
      log(`latency ${key} round ${round}: median ${median?.toFixed(1)} ms`);
      results.latency = out;
      save();
    }
  }
  return out;
}

// --- cost per call ----------------------------------------------------------------------------

const LOAD_SECONDS = Number(options['load-seconds']);

function runLoad(server, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(buildDir, 'tools', 'bench', 'webrtccall-bench-load'),
                        [ '--server', server.url, ...args ], {stdio : [ 'ignore', 'pipe', 'pipe' ]});
    let output = '', errors = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (errors += c));
    child.on('exit', (code) => {
      const line = output.trim().split('\n').pop();
      if (code === 0 && line)
        resolve(JSON.parse(line));
      else
        reject(new Error(`bench-load ${args.join(' ')}: exit ${code}\n${errors.slice(-2000)}`));
    });
  });
}

async function costBenchmarks() {
  const out = {per_call : [], concurrency : []};
  const server = await startServer('bench-load');
  try {
    // Both codecs at both sizes with their encoders as element-peer and docs/element.md set
    // them, at a fixed bitrate; then VP8 with libvpx's fastest real-time speed, for comparison
    // (vp8enc's default cpu-used=0 is its slowest).
    const configs = [];
    for (const [width, height, bitrate] of [[640, 480, 1000], [1280, 720, 2500]])
      for (const codec of [ 'vp8', 'h264' ])
        configs.push({width, height, bitrate, codec, options : ''});
    configs.push({width : 640, height : 480, bitrate : 1000, codec : 'vp8', options : 'cpu-used=8'});
    for (const {width, height, bitrate, codec, options: encoderOptions} of configs) {
      const args = [ '--calls', '1', '--seconds', '20', '--width', String(width), '--height',
                     String(height), '--codec', codec, '--bitrate', String(bitrate) ];
      if (encoderOptions)
        args.push('--encoder-options', encoderOptions);
      const r = await measured(`cost ${width}x${height} ${codec} ${encoderOptions}`,
                               () => runLoad(server, args));
      log(JSON.stringify(r));
      out.per_call.push(r);
      results.cost = out;
      save();
    }
    // The most concurrent 640x480 VP8 calls that hold >= 29 fps each way over the window: a
    // sweep from one call up, for the curve, until two counts in a row fail.
    let failures = 0;
    for (let n = 1; n <= 10 && failures < 2; n++) {
      const args = [ '--calls', String(n), '--seconds', String(LOAD_SECONDS), '--codec', 'vp8',
                     '--bitrate', '1000' ];
      let r;
      try {
        r = await measured(`concurrency ${n}`, () => runLoad(server, args));
      } catch (error) {
        r = {calls : n, error : error.message, min_fps : 0};
      }
      log(JSON.stringify({...r, fps : undefined}));
      out.concurrency.push(r);
      results.cost = out;
      save();
      failures = r.min_fps >= 29 ? 0 : failures + 1;
    }
    // Every count up to it held, not just it (a neighbour's load can make a count fail alone).
    out.max_calls = 0;
    for (const r of out.concurrency) {
      if (r.min_fps < 29)
        break;
      out.max_calls = r.calls;
    }
  } finally {
    await server.stop();
  }
  return out;
}

// ----------------------------------------------------------------------------------------------

results.machine = machine();
results.started = new Date().toISOString();
save();
if (ONLY.has('setup')) {
  results.setup = await setupBenchmarks();
  save();
}
if (ONLY.has('latency')) {
  results.latency = await latencyBenchmarks();
  save();
}
if (ONLY.has('cost')) {
  results.cost = await costBenchmarks();
  save();
}
results.finished = new Date().toISOString();
results.machine_after = machine();
save();
log(`results in ${resultsFile}`);
process.exit(0);
