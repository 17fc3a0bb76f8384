// Debian's Chromium, headless, driven by playwright-core (which never downloads a browser).
//
//   const browser = await launchBrowser(await mediaFor('alice'));          // camera and mic
//   const browser = await launchBrowser(null, { camera: false });          // receive-only
//   const page = await openPage(browser, server.httpUrl, 'alice');
//   ...
//   pageLog(page)            // what the page logged, for failure messages
//   await browser.close();
//
// The fake capture files are browser-wide switches, so each identity gets a browser of its own;
// pages of one identity share it.

import {appendFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

import {logsDir} from './server.mjs';

export const CHROMIUM = process.env.WEBRTCCALL_CHROMIUM || '/usr/bin/chromium';

// Quiet and offline: no background requests, no updates, no QUIC; WebRTC keeps its defaults.
const BASE_ARGS = [
  '--no-sandbox', // runs as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// media: { video, audio } from mediaFor(), or null. camera: false leaves out the switch that
// grants capture without asking, so the page's getUserMedia is refused, as when a user blocks
// the camera (headless Chromium denies the prompt).
export async function launchBrowser(media, {camera = true} = {}) {
  const args = [...BASE_ARGS ];
  if (camera)
    args.push('--use-fake-ui-for-media-stream');
  if (media) {
    args.push(
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-video-capture=${media.video}`,
        `--use-file-for-fake-audio-capture=${media.audio}`,
    );
  }
  return chromium.launch({executablePath : CHROMIUM, headless : true, args, timeout : 30_000});
}

const logs = new WeakMap();

// Runs in every page before its own scripts: logs getUserMedia's outcome and each
// RTCPeerConnection's life (transceivers, signaling, gathering, ICE and connection states,
// candidates) to the console, so a failed call shows where it stopped, and keeps the local
// candidates in window.__rigCandidates and the connections in window.__rigPeerConnections for
// assertions. It only listens: the page gets the same streams and connections, and its own
// handlers see the same events.
function watchMedia() {
  const Original = window.RTCPeerConnection;
  let count = 0;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      const id = `pc${++count}`;
      // For getStats() in the tests (stats.mjs): the page's own are out of reach.
      (window.__rigPeerConnections ??= []).push(this);
      const log = (text) => console.debug(`[rig] ${id} ${text}`);
      log(`created ${JSON.stringify(args[0] ?? {})}`);
      // What each m-line sends and receives once a description is applied.
      this.addEventListener('signalingstatechange', () => {
        const lines = this.getTransceivers().map(
            (t) => `${t.receiver.track.kind}:${t.currentDirection ?? t.direction}` +
                   (t.sender.track ? '+track' : ''));
        log(`transceivers ${lines.join(' ') || '(none)'}`);
      });
      for (const kind of ['signaling', 'iceGathering', 'iceConnection', 'connection']) {
        const property = `${kind}State`;
        this.addEventListener(
            `${kind.toLowerCase()}statechange`,
            () => log(`${property} ${this[property]}`),
        );
      }
      this.addEventListener('icecandidate', (e) => {
        log(`local candidate ${e.candidate ? e.candidate.candidate : '(end)'}`);
        if (e.candidate)
          (window.__rigCandidates ??= []).push(e.candidate.candidate);
      });
      this.addEventListener('track', (e) => log(`remote track ${e.track.kind}`));
    }
    addIceCandidate(candidate, ...rest) {
      console.debug(`[rig] remote candidate ${candidate?.candidate ?? '(end)'}`);
      return super.addIceCandidate(candidate, ...rest);
    }
  };
  const getUserMedia = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
  if (getUserMedia) {
    navigator.mediaDevices.getUserMedia = (constraints) => {
      console.debug(`[rig] getUserMedia ${JSON.stringify(constraints)}`);
      return getUserMedia(constraints)
          .then(
              (stream) => {
                const tracks = stream.getTracks().map((t) => t.kind).join(' ');
                console.debug(`[rig] getUserMedia gave ${tracks}`);
                return stream;
              },
              (error) => {
                console.debug(`[rig] getUserMedia failed: ${error.name}`);
                throw error;
              });
    };
  }
}

// Opens url in a new context (its own storage) of browser. Everything the page logs goes to
// <logsDir>/<label>.console.log and stays readable through pageLog(page).
export async function openPage(browser, url, label) {
  const context = await browser.newContext();
  await context.addInitScript(watchMedia);
  const page = await context.newPage();
  const lines = [];
  const file = join(logsDir(), `${label}.console.log`);
  writeFileSync(file, ''); // this run's only
  logs.set(page, {lines, label});
  const record = (text) => {
    const line = `${new Date().toISOString().slice(11, 23)} ${text}`;
    lines.push(line);
    appendFileSync(file, `${line}\n`);
  };
  page.on('console', (message) => record(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => record(`[pageerror] ${error.stack || error.message}`));
  page.on(
      'requestfailed',
      (request) => record(`[requestfailed] ${request.url()} ${request.failure()?.errorText}`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      record(`[response] ${response.status()} ${response.url()}`);
  });
  page.on('crash', () => record('[crash] the page crashed'));
  await page.goto(url);
  return page;
}

// The page's console, prefixed with its label, newest last (at most `last` lines).
export function pageLog(page, last = 60) {
  const entry = logs.get(page);
  if (!entry)
    return '';
  return entry.lines.slice(-last).map((line) => `  ${entry.label}: ${line}`).join('\n');
}
