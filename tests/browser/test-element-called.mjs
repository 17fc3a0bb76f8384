// Chromium calls the element through the web client, once per video codec of the element's
// sink pad. The element (auto-answer) answers Chromium's offer, with its many codecs, rtx,
// red/ulpfec, header extensions, bundle and rtcp-mux, with what its sink pads carry, in the
// offer's payload types, and the media goes both ways in that codec and Opus.

import {after, afterEach, before, test} from 'node:test';

import {callByClick, hangUp, login, waitState} from './lib/client.mjs';
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

// vp9enc, free to choose, takes 4:4:4 12-bit from videotestsrc: VP9 profile 3. Chromium offers
// profiles 0 and 2 only; the element answers VP9 profile 0's payload type regardless and sends
// profile 3, which Chromium decodes as a magenta field. The element should keep its VP9 sink
// pads to what it can offer (profile 0, so that encoders negotiate 4:2:0), or match the
// stream's profile to the offered profile-id as it does for H.264.
test('Chromium sees the picture of a vp9enc left to choose its input format',
     {todo : 'the element sends VP9 profile 3 that Chromium did not offer'}, async () => {
       const vp9 = VIDEO_CODECS.find((c) => c.name === 'VP9');
       const page = await aliceCalls(vp9, 'vp9-unconstrained');
       await expectBothWays(page, 'alice', element, vp9);
     });
