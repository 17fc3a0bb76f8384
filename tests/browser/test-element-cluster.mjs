// Chromium and the element logged in to different instances of our server that share one Redis
// (--redis, docs/server.md "Several instances"): the page calls the element and the element
// calls the page, media both ways, hang-ups from either side; then the element's instance is
// killed mid-call and the page hears that its peer is gone.
//
// Needs redis-server (tools/setup installs it). Skipped only when the server was built without
// Redis support (meson option `redis`), which it says when given --redis.

import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {closeSync, openSync} from 'node:fs';
import {connect, createServer} from 'node:net';
import {join} from 'node:path';
import {after, afterEach, before, test} from 'node:test';

import {launchBrowser} from './lib/browser.mjs';
import {
  accept,
  callByClick,
  hangUp,
  login,
  openClient,
  waitIncoming,
  waitState
} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {mediaFor} from './lib/media.mjs';
import {logsDir, startServer} from './lib/server.mjs';

const binary = process.env.WEBRTCCALL_SIGNALING;
const VP8 = VIDEO_CODECS.find((codec) => codec.name === 'VP8');
const children = new Set(); // killed with this process, whatever happens
process.on('exit', () => {
  for (const child of children)
    child.kill('SIGKILL');
});

// Why the server cannot run with --redis (built without it), or null.
function redisUnsupported() {
  if (!binary)
    return 'WEBRTCCALL_SIGNALING is not set: run through meson test';
  const run =
      spawnSync(binary, [ '--redis', 'redis://127.0.0.1:1', '--version' ], {encoding : 'utf8'});
  return /built without Redis support/.test(run.stderr) ? run.stderr.trim() : null;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const {port} = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

// Whether a Redis answers PING on `port`.
function pings(port) {
  return new Promise((resolvePing) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (data) => {
      resolvePing(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolvePing(false));
    socket.on('close', () => resolvePing(false));
  });
}

// redis-server on loopback in this namespace, nothing saved, answering.
async function startRedis() {
  const port = await freePort();
  const child =
      spawn('redis-server',
            [ '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no' ],
            {stdio : 'ignore'});
  children.add(child);
  child.on('error', () => {}); // the wait below fails, naming redis-server
  for (let waited = 0; !(await pings(port)); waited += 50) {
    if (waited > 10_000)
      throw new Error('redis-server did not answer PING within 10 s (is it installed?)');
    await new Promise((resolveWait) => setTimeout(resolveWait, 50)); // nothing to wait on
  }
  return {url : `redis://127.0.0.1:${port}`, stop : () => child.kill('SIGTERM')};
}

// An instance for the element, started here rather than by startServer so that it can be
// killed without a word, as a crashed machine would be.
function startInstance(redisUrl, label) {
  return new Promise((resolveInstance, reject) => {
    const log = openSync(join(logsDir(), `${label}-signaling.log`), 'w');
    const child =
        spawn(binary, [ '--host', '127.0.0.1', '--port', '0', '--verbose', '--redis', redisUrl ],
              {stdio : [ 'ignore', 'pipe', log ]});
    closeSync(log);
    children.add(child);
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (output.includes('\n'))
        return; // keep draining
      output += chunk;
      if (!output.includes('\n'))
        return;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      resolveInstance({
        url : output.split('\n')[0].trim(),
        kill : () => child.kill('SIGKILL'),
        // SIGTERM: its users' names are released at once, for the next test.
        stop : () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    child.once('exit',
               (code, signal) => reject(new Error(`the instance exited (${signal || code})`)));
  });
}

const unsupported = redisUnsupported();
let redis, pageServer, elementServer, browser, element;
const pages = [];

before(async () => {
  if (unsupported)
    return;
  redis = await startRedis();
  pageServer = await startServer('cluster-page', {args : [ '--redis', redis.url ]});
  browser = await launchBrowser(await mediaFor('alice'));
});
afterEach(async () => {
  await element?.stop();
  element = null;
  await elementServer?.stop();
  elementServer = null;
  await Promise.all(pages.splice(0).map((page) => page.context().close()));
});
after(async () => {
  await browser?.close();
  await pageServer?.stop();
  redis?.stop();
});

async function alicePage(label) {
  const page = await openClient(browser, pageServer, `cluster-${label}`);
  pages.push(page);
  await login(page, 'alice', 'alice');
  return page;
}

test('the page calls the element on another instance: both ways, then the page hangs up',
     {skip : unsupported || false}, async () => {
       elementServer = await startInstance(redis.url, 'cluster-called');
       element = await startElement(elementServer, {label : 'cluster-called'});
       await element.waitState('logged-in');
       const page = await alicePage('calls');
       await callByClick(page, 'alice', ELEMENT_USER);
       await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
       await expectBothWays(page, 'alice', element, VP8);
       await hangUp(page);
       await Promise.all([
         waitState(page, 'alice', 'idle'),
         element.waitState('logged-in', {reason : 'remote-hangup'}),
       ]);
     });

test('the element calls the page on another instance and hangs up', {skip : unsupported || false},
     async () => {
       const page = await alicePage('called');
       elementServer = await startInstance(redis.url, 'cluster-calls');
       element = await startElement(elementServer, {label : 'cluster-calls'});
       await element.waitState('logged-in');
       element.send('call alice');
       await waitIncoming(page, 'alice', ELEMENT_USER);
       await accept(page);
       await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
       await expectBothWays(page, 'alice', element, VP8);
       element.send('hangup');
       await waitState(page, 'alice', 'idle');
     });

test('the element\'s instance killed mid-call: the page hears its peer is gone within 10 s',
     {skip : unsupported || false}, async () => {
       elementServer = await startInstance(redis.url, 'cluster-killed');
       element = await startElement(elementServer, {label : 'cluster-killed'});
       await element.waitState('logged-in');
       const page = await alicePage('killed');
       await callByClick(page, 'alice', ELEMENT_USER);
       await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
       const killed = Date.now();
       elementServer.kill();
       await waitState(page, 'alice', 'idle', 10_000);
       assert.ok(Date.now() - killed < 10_000);
     });
