// A page whose camera and microphone are refused joins receive-only: it can take a call and see
// and hear the caller. Without capture permission Chromium hides its address behind an mDNS
// `.local` name, which the caller resolves on the namespace's veth (netns.sh).

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {expectMediaFrom, waitPicture} from './lib/checks.mjs';
import {accept, callByClick, login, waitIncoming, waitState} from './lib/client.mjs';
import {startRig} from './lib/rig.mjs';

let rig;
before(async () => {
  rig = await startRig('receive-only', {
    alice : 'alice',
    // Fake devices exist, but nothing grants them: getUserMedia is refused, as when a user
    // blocks the camera.
    viewer : {media : 'bob', camera : false},
  });
});
afterEach(() => rig.closePages());
after(() => rig?.stop());

// Every local candidate the page's peer connections gathered (browser.mjs's watcher).
async function localCandidates(page) { return page.evaluate(() => window.__rigCandidates ?? []); }

async function signInBoth(aliceName, viewerName) {
  const alice = await rig.open('alice', aliceName);
  const viewer = await rig.open('viewer', viewerName);
  await login(alice, aliceName, aliceName);
  await login(viewer, viewerName, viewerName);
  await waitPicture(alice, aliceName, '#localVideo', 'smpte'); // alice's camera is on
  const refused = await viewer.evaluate(
      () => navigator.mediaDevices.getUserMedia({video : true})
                .then(
                    () => 'granted',
                    (error) => error.name,
                    ),
  );
  assert.equal(refused, 'NotAllowedError', 'the viewer has no camera permission');
  return {alice, viewer};
}

test('a receive-only page takes a call and sees and hears the caller', async () => {
  const {alice, viewer} = await signInBoth('alice', 'viewer');
  await callByClick(alice, 'alice', 'viewer');
  await waitIncoming(viewer, 'viewer', 'alice');
  await accept(viewer);
  await Promise.all(
      [ waitState(alice, 'alice', 'in-call'), waitState(viewer, 'viewer', 'in-call') ]);
  await expectMediaFrom(viewer, 'viewer', 'alice');

  const candidates = await localCandidates(viewer);
  assert.ok(candidates.some((c) => / udp \d+ [0-9a-f-]+\.local \d+ typ host/.test(c)),
            `the viewer offered an mDNS host candidate: ${candidates.join(' | ')}`);
  assert.ok(!candidates.some((c) => c.includes('10.213.7.1')),
            `the viewer revealed no address: ${candidates.join(' | ')}`);
});

test('a receive-only page calls a page with a camera and sees and hears it', async () => {
  const {alice, viewer} = await signInBoth('amy', 'vic');
  await callByClick(viewer, 'vic', 'amy');
  await waitIncoming(alice, 'amy', 'vic');
  await accept(alice);
  await Promise.all([ waitState(alice, 'amy', 'in-call'), waitState(viewer, 'vic', 'in-call') ]);
  await expectMediaFrom(viewer, 'vic', 'alice');
});
