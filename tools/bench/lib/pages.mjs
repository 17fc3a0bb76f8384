// The browser side of the benchmarks: pages of the web client (signaling/web) with
// instruments added before the client's own script runs. The client itself is unchanged.
//
// - auto-accept: the callee's page presses Accept as soon as it rings (a MutationObserver on
//   body[data-state]), so a browser callee answers as immediately as the element does
//   (auto-answer) and the tutorial's client did (it had no Accept button);
// - first frame: requestVideoFrameCallback on #remoteVideo records the wall-clock time
//   (performance.timeOrigin + performance.now(), comparable across processes) of the first
//   frame presented after window.__bench.first is reset to 0;
// - stamps (optional): getUserMedia gives a 640x480 canvas stream instead of the camera, each
//   frame stamped with its drawing time (stamp.hpp's layout), and every frame #remoteVideo
//   presents is read back for glass-to-glass latency.

import {spawn} from 'node:child_process';
import {closeSync, openSync, readFileSync} from 'node:fs';
import {createServer} from 'node:http';
import {connect} from 'node:net';
import {extname, join, normalize} from 'node:path';

import {repoRoot, tutorialServer} from './paths.mjs';

const WEB_ROOT = join(repoRoot, 'signaling', 'web');

// Runs in the page before its scripts.
function instruments({stamps}) {
  const wall = () => performance.timeOrigin + performance.now();
  const bench = (window.__bench = {first : 0, latencies : [], unreadable : 0, clickedAt : 0});
  // The same layout as tools/bench/stamp.cpp: a 40 x 30 grid; row 0 holds the low 32 bits of
  // the capture time in microseconds, white for 1; row 1 the bits inverted.
  const COLUMNS = 40, ROWS = 30, BITS = 32;
  if (stamps) {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    let x = 0;
    const draw = () => {
      g.fillStyle = '#406080';
      g.fillRect(0, 0, 640, 480);
      g.fillStyle = '#e0c040'; // something moving, as in a camera's picture
      g.fillRect(x = (x + 4) % 600, 200, 40, 40);
      const value = Math.floor(wall() * 1000) % 2 ** 32;
      for (let i = 0; i < BITS; i++) {
        const bit = Math.floor(value / 2 ** (BITS - 1 - i)) % 2;
        for (let row = 0; row < 2; row++) {
          g.fillStyle = (bit === 1) !== (row === 1) ? '#ffffff' : '#000000';
          g.fillRect(i * 640 / COLUMNS, row * 480 / ROWS, 640 / COLUMNS, 480 / ROWS);
        }
      }
      requestAnimationFrame(draw);
    };
    requestAnimationFrame(draw);
    const stream = canvas.captureStream(30);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const sink = audio.createMediaStreamDestination();
    tone.connect(sink);
    tone.start();
    navigator.mediaDevices.getUserMedia =
        async () => new MediaStream([...stream.getVideoTracks(), ...sink.stream.getAudioTracks() ]);
  }
  const reader = document.createElement('canvas');
  const readStamp = (video) => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h)
      return null;
    reader.width = w;
    reader.height = Math.ceil(2 * h / ROWS);
    const g = reader.getContext('2d', {willReadFrequently : true});
    g.drawImage(video, 0, 0, w, h, 0, 0, w, h);
    const pixels = g.getImageData(0, 0, w, reader.height).data;
    const mean = (column, row) => {
      const x0 = column * w / COLUMNS, x1 = (column + 1) * w / COLUMNS;
      const y0 = row * h / ROWS, y1 = (row + 1) * h / ROWS;
      let sum = 0, count = 0;
      for (let y = Math.floor(y0 + (y1 - y0) / 4); y < y1 - (y1 - y0) / 4; y++) {
        for (let x = Math.floor(x0 + (x1 - x0) / 4); x < x1 - (x1 - x0) / 4; x++) {
          const p = (y * w + x) * 4;
          sum += 0.299 * pixels[p] + 0.587 * pixels[p + 1] + 0.114 * pixels[p + 2];
          count++;
        }
      }
      return sum / count;
    };
    let value = 0;
    for (let i = 0; i < BITS; i++) {
      const bit = mean(i, 0), inverse = mean(i, 1);
      if (Math.abs(bit - inverse) < 80)
        return null;
      value = value * 2 + (bit > inverse ? 1 : 0);
    }
    return value;
  };
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver(() => {
      if (document.body.dataset.state === 'ringing')
        document.getElementById('acceptBtn').click();
    }).observe(document.body, {attributes : true, attributeFilter : [ 'data-state' ]});
    const video = document.getElementById('remoteVideo');
    const onFrame = () => {
      const now = wall();
      if (!bench.first)
        bench.first = now;
      if (stamps) {
        const stamp = readStamp(video);
        const age = stamp === null ? -1 : (Math.floor(now * 1000) - stamp + 2 ** 32) % 2 ** 32;
        if (age < 0 || age > 10e6)
          bench.unreadable++;
        else
          bench.latencies.push(age / 1000);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
}

// A page of the client at `url`, in a fresh context of `browser`.
export async function openBenchPage(browser, url, {stamps = false} = {}) {
  const context = await browser.newContext();
  await context.addInitScript(instruments, {stamps});
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  return page;
}

// The client's pages for the tutorial's server, which speaks only WebSocket: an HTTP server on
// loopback serves signaling/web and hands every WebSocket upgrade, byte for byte, to the
// tutorial's server, so the client's WebSocket to its own origin reaches server.js. (Serving the
// files through Playwright's routing instead makes Chromium treat the page as public and block
// its connection to loopback: ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS.)
function serveClientFor(target) {
  const types = {'.js' : 'text/javascript', '.css' : 'text/css', '.html' : 'text/html'};
  const server = createServer((request, response) => {
    let path = new URL(request.url, 'http://x').pathname;
    if (path === '/')
      path = '/index.html';
    try {
      const body = readFileSync(join(WEB_ROOT, normalize(path).replace(/^(\.\.[/\\])+/, '')));
      response.writeHead(200, {'content-type' : types[extname(path)] || 'text/plain'});
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  server.on('upgrade', (request, socket, head) => {
    const upstream = connect(target.port, '127.0.0.1', () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2)
        lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.setNoDelay(true);
      socket.setNoDelay(true);
      socket.pipe(upstream).pipe(socket);
    });
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The tutorial's server.js, unchanged, run as tests/lib/server_process.cpp does: moved to a
// free port on 127.0.0.1 by tests/interop/tutorial_port.cjs, which prints its URL.
export function startTutorialServer(logDir) {
  return new Promise((resolve, reject) => {
    const log = openSync(join(logDir, 'tutorial-server.log'), 'w');
    const child = spawn(
        process.execPath,
        [ '-r', join(repoRoot, 'tests', 'interop', 'tutorial_port.cjs'), tutorialServer ], {
          stdio : [ 'ignore', 'pipe', log ],
          env : {...process.env, NODE_PATH : join(repoRoot, 'node_modules'), TUTORIAL_PORT : '0'},
        });
    closeSync(log);
    process.on('exit', () => child.kill('SIGKILL'));
    let output = '';
    let done = false;
    // It logs every message on stdout: keep draining after the URL.
    child.stdout.on('data', (chunk) => {
      if (done)
        return;
      output += chunk;
      const newline = output.indexOf('\n');
      if (newline >= 0) {
        done = true;
        const url = output.slice(0, newline).trim();
        const port = Number(new URL(url).port);
        serveClientFor({port}).then((front) => resolve({
                                      url,
                                      httpUrl : `http://127.0.0.1:${front.address().port}/`,
                                      stop : () => {
                                        front.close();
                                        child.kill('SIGTERM');
                                      },
                                    }));
      }
    });
    child.on('exit', (code) => {
      if (!done)
        reject(new Error(`the tutorial's server exited (${code}) before listening`));
    });
  });
}
