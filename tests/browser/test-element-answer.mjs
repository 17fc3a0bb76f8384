// The element with auto-answer off, called by Chromium: it rings, and `answer` or `reject`
// decides. Chromium's candidates come as Chromium sends them: all before the element has
// applied the offer, with only sdpMid or only sdpMLineIndex, and never an end-of-candidates.
// In these tests the page drops the element's candidates (candidates.mjs), so a call connects
// only through the candidates the element took from Chromium.

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {
  gatheringComplete,
  ignoreRemoteCandidates,
  sendCandidatesWithOnly,
} from './lib/candidates.mjs';
import {callByClick, login, snapshot, waitError, waitState} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {startRig} from './lib/rig.mjs';

const VP8 = VIDEO_CODECS.find((c) => c.name === 'VP8');

let rig;
let element;
before(async () => { rig = await startRig('element-answer', {alice : 'alice'}); });
afterEach(async () => {
  await element?.stop();
  await rig.closePages();
});
after(() => rig?.stop());

async function signIn(label, options) {
  element = await startElement(rig.server, {label : `element-answer-${label}`, ...options});
  await element.waitState('logged-in');
  const page = await rig.open('alice', `${label}-alice`);
  await login(page, 'alice', 'alice');
  await ignoreRemoteCandidates(page);
  return page;
}

test('the element rings, and on answer connects through candidates sent before it had the offer',
     async () => {
       const page = await signIn('answer', {manualAnswer : true});
       await callByClick(page, 'alice', ELEMENT_USER);
       const incoming = await element.waitFor('incoming-call', (e) => e.event === 'incoming');
       assert.equal(incoming.caller, 'alice');
       await element.waitState('ringing');
       // Every candidate is out before the element applies the offer, which it does on answer.
       await gatheringComplete(page);
       assert.equal((await snapshot(page)).state, 'calling');

       element.send('answer');
       await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
       await expectBothWays(page, 'alice', element, VP8);
     });

test('the element rejects: the page says so and both are idle; the next call is answered',
     async () => {
       const page = await signIn('reject', {manualAnswer : true});
       await callByClick(page, 'alice', ELEMENT_USER);
       await element.waitState('ringing');
       element.send('reject');
       await Promise.all([
         waitState(page, 'alice', 'idle'),
         waitError(page, 'alice', /declined/),
         element.waitState('logged-in', {reason : 'rejected'}),
       ]);

       await callByClick(page, 'alice', ELEMENT_USER);
       await element.waitState('ringing');
       element.send('answer');
       await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
       await expectBothWays(page, 'alice', element, VP8);
     });

for (const keep of ['sdpMid', 'sdpMLineIndex']) {
  test(`candidates with only ${keep} connect the call`, async () => {
    const page = await signIn(`only-${keep}`, {});
    await sendCandidatesWithOnly(page, keep);
    await callByClick(page, 'alice', ELEMENT_USER);
    await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
    await expectBothWays(page, 'alice', element, VP8);
  });
}
