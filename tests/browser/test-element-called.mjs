// Chromium calls the element through the web client, once per video codec of the element's
// sink pad. The element (auto-answer) answers Chromium's offer, with its many codecs, rtx,
// red/ulpfec, header extensions, bundle and rtcp-mux, with what its sink pads carry, in the
// offer's payload types, and the media goes both ways in that codec and Opus.

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {callByClick, clickUser, hangUp, login, waitError, waitState} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {startRig} from './lib/rig.mjs';
import {assertAnswerFits, descriptions} from './lib/sdp.mjs';

let rig;
let element;
before(async () => { rig = await startRig('element-called', {alice : 'alice'}); });
afterEach(async () => {
  await element?.stop();
  await rig.closePages();
});
after(() => rig?.stop());

// alice's page calls the element, which sends `codec`; returns the page once both are in the
// call and the answer has been checked against the offer.
async function aliceCalls(codec, encoder = codec.encoder) {
  element = await startElement(rig.server, {label : `element-called-${encoder}`, video : encoder});
  await element.waitState('logged-in');
  const page = await rig.open('alice', `${encoder}-alice`);
  await login(page, 'alice', 'alice');
  await callByClick(page, 'alice', ELEMENT_USER);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
  const {local, remote} = await descriptions(page);
  assertAnswerFits(local.sdp, remote.sdp, {video : codec.mime.split('/')[1], audio : 'OPUS'});
  return page;
}

for (const codec of VIDEO_CODECS) {
  test(`Chromium calls the element sending ${codec.name}: both ways in ${codec.name} and Opus`,
       async () => {
         const page = await aliceCalls(codec);
         await expectBothWays(page, 'alice', element, codec);

         await hangUp(page);
         await Promise.all([
           waitState(page, 'alice', 'idle'),
           element.waitState('logged-in', {reason : 'remote-hangup'}),
         ]);
       });
}

// vp9enc, free to choose, takes 4:4:4 12-bit from videotestsrc: VP9 profile 3, which Chromium
// does not offer (it offers profiles 0 and 2). The element refuses the call, naming the profile
// and the capsfilter that makes profile 0, rather than send what Chromium decodes as a magenta
// field; the page hears the call end.
test('a VP9 profile Chromium does not offer fails the call, saying how to encode profile 0',
     async () => {
       element = await startElement(rig.server,
                                    {label : 'element-called-vp9-profile-3', video : 'vp9-unconstrained'});
       await element.waitState('logged-in');
       const page = await rig.open('alice', 'vp9-profile-3-alice');
       await login(page, 'alice', 'alice');
       // Not callByClick: the refusal can come back before the page is seen "calling".
       await clickUser(page, 'alice', ELEMENT_USER);
       // A warning: element-peer keeps the element for the next call (end-on-hangup=false).
       const refusal = await element.waitFor('the refusal', (e) => e.event === 'warning');
       assert.equal(refusal.reason, 'no-common-codec');
       assert.match(refusal.message, /VP9 profile 3/);
       assert.match(refusal.message, /format=I420/);
       await waitError(page, 'alice', /could not take the call/);
       await waitState(page, 'alice', 'idle');
     });
