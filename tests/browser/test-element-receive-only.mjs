// A receive-only page (no camera or microphone permission) watching the element. Without
// capture permission Chromium offers its address only as an mDNS `.local` host candidate;
// the call still connects, with the page seeing and hearing the element.

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {accept, callByClick, login, waitIncoming, waitState} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {startRig} from './lib/rig.mjs';

const VP8 = VIDEO_CODECS.find((c) => c.name === 'VP8');

let rig;
let element;
before(async () => {
  // Fake devices exist, but nothing grants them: getUserMedia is refused.
  rig = await startRig('element-receive-only', {viewer : {media : 'alice', camera : false}});
});
afterEach(async () => {
  await element?.stop();
  await rig.closePages();
});
after(() => rig?.stop());

async function signIn(label) {
  element = await startElement(rig.server, {label : `element-receive-only-${label}`});
  await element.waitState('logged-in');
  const page = await rig.open('viewer', `${label}-viewer`);
  await login(page, 'viewer', 'viewer');
  const refused = await page.evaluate(() => navigator.mediaDevices.getUserMedia({video : true})
                                                .then(() => 'granted', (error) => error.name));
  assert.equal(refused, 'NotAllowedError', 'the viewer has no camera permission');
  return page;
}

// The page's candidates hid its address behind mDNS names.
async function assertMdnsOnly(page) {
  const candidates = await page.evaluate(() => window.__rigCandidates ?? []);
  assert.ok(candidates.some((c) => / udp \d+ [0-9a-f-]+\.local \d+ typ host/.test(c)),
            `the viewer offered an mDNS host candidate: ${candidates.join(' | ')}`);
  assert.ok(!candidates.some((c) => c.includes('10.213.7.1')),
            `the viewer revealed no address: ${candidates.join(' | ')}`);
}

test('a receive-only page calls the element and sees and hears it', async () => {
  const page = await signIn('page-calls');
  await callByClick(page, 'viewer', ELEMENT_USER);
  await Promise.all([ waitState(page, 'viewer', 'in-call'), element.waitState('in-call') ]);
  await expectBothWays(page, 'viewer', element, VP8, {pageSends : false});
  await assertMdnsOnly(page);
});

test('the element calls a receive-only page, which sees and hears it', async () => {
  const page = await signIn('element-calls');
  element.send('call viewer');
  await waitIncoming(page, 'viewer', ELEMENT_USER);
  await accept(page);
  await Promise.all([ waitState(page, 'viewer', 'in-call'), element.waitState('in-call') ]);
  await expectBothWays(page, 'viewer', element, VP8, {pageSends : false});
  await assertMdnsOnly(page);
});
