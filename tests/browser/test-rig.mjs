// The rig itself, without our web client: two Chromiums in this network namespace connect
// directly (the test carries their offer and answer), and each sees and hears the other's fake
// capture files. When this passes and a client test fails, the fault is in the client or the
// server, not in Chromium, the namespace or the media checks.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {launchBrowser} from './lib/browser.mjs';
import {waitAdvancing, waitPicture, waitTone} from './lib/checks.mjs';
import {mediaFor} from './lib/media.mjs';
import {startServer} from './lib/server.mjs';

// A bare page: one RTCPeerConnection, no trickle (the test hands over complete descriptions).
const RIG_PAGE = `<!doctype html>
<video id="localVideo" autoplay muted playsinline></video>
<video id="remoteVideo" autoplay playsinline></video>
<script>
  const pc = new RTCPeerConnection();
  pc.ontrack = (e) => { document.querySelector('#remoteVideo').srcObject = e.streams[0]; };
  const gathered = () => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
  window.rig = {
    async start() {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        document.querySelector('#localVideo').srcObject = stream;
        for (const track of stream.getTracks()) pc.addTrack(track, stream);
        return 'sendrecv';
      } catch (error) {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
        return 'recvonly: ' + error.name;
      }
    },
    async offer() {
      await pc.setLocalDescription();
      await gathered();
      return pc.localDescription.toJSON();
    },
    async answer(offer) {
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription();
      await gathered();
      return pc.localDescription.toJSON();
    },
    async accept(answer) { await pc.setRemoteDescription(answer); },
    connected() {
      return new Promise((resolve) => {
        if (pc.connectionState === 'connected') return resolve(pc.connectionState);
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'connected' || pc.connectionState === 'failed') {
            resolve(pc.connectionState);
          }
        });
      });
    },
  };
</script>`;

let server;
const browsers = {};

before(async () => {
  server = await startServer('rig');
  const [alice, bob] = await Promise.all([ mediaFor('alice'), mediaFor('bob') ]);
  [browsers.alice, browsers.bob, browsers.silent] = await Promise.all([
    launchBrowser(alice),
    launchBrowser(bob),
    launchBrowser(bob, {camera : false}),
  ]);
});

after(async () => {
  await Promise.all(Object.values(browsers).map((b) => b.close()));
  await server?.stop();
});

// The rig page at the server's origin (a secure context, like the client's), served by the test.
async function rigPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const url = `${server.httpUrl}rig.html`;
  await page.route(url, (route) => route.fulfill({contentType : 'text/html', body : RIG_PAGE}));
  await page.goto(url);
  return page;
}

async function connect(caller, callee) {
  const offer = await caller.evaluate(() => window.rig.offer());
  const answer = await callee.evaluate((o) => window.rig.answer(o), offer);
  await caller.evaluate((a) => window.rig.accept(a), answer);
  const states =
      await Promise.all([ caller, callee ].map((p) => p.evaluate(() => window.rig.connected())));
  if (states.some((s) => s !== 'connected'))
    throw new Error(`connection states: ${states}`);
  return {offer, answer};
}

test('two Chromiums in the namespace see and hear each other', async () => {
  const alice = await rigPage(browsers.alice);
  const bob = await rigPage(browsers.bob);
  assert.equal(await alice.evaluate(() => window.rig.start()), 'sendrecv');
  assert.equal(await bob.evaluate(() => window.rig.start()), 'sendrecv');
  const {offer} = await connect(alice, bob);
  assert.match(offer.sdp, /a=candidate:\S+ 1 udp \d+ 10\.213\.7\.1 /,
               'a host candidate on the veth');

  await waitPicture(alice, 'alice', '#remoteVideo', 'orange');
  await waitPicture(bob, 'bob', '#remoteVideo', 'smpte');
  await waitAdvancing(alice, 'alice', '#remoteVideo');
  await waitAdvancing(bob, 'bob', '#remoteVideo');
  await waitTone(alice, 'alice', '#remoteVideo', 880);
  await waitTone(bob, 'bob', '#remoteVideo', 440);
  await Promise.all([ alice.context().close(), bob.context().close() ]);
});

test('a page without camera permission receives through mDNS candidates', async () => {
  const alice = await rigPage(browsers.alice);
  const silent = await rigPage(browsers.silent);
  assert.equal(await alice.evaluate(() => window.rig.start()), 'sendrecv');
  assert.match(await silent.evaluate(() => window.rig.start()), /^recvonly: NotAllowedError/);
  const {answer} = await connect(alice, silent);
  assert.match(answer.sdp, /a=candidate:\S+ 1 udp \d+ [0-9a-f-]+\.local /, 'an mDNS candidate');
  assert.doesNotMatch(answer.sdp, /10\.213\.7\.1/, 'no plain address without permission');

  await waitPicture(silent, 'silent', '#remoteVideo', 'smpte');
  await waitAdvancing(silent, 'silent', '#remoteVideo');
  await waitTone(silent, 'silent', '#remoteVideo', 440);
  await Promise.all([ alice.context().close(), silent.context().close() ]);
});
