// The element calls Chromium through the web client, once per video codec of the element's
// sink pad: Chromium accepts the element's offer, answers in the element's codec and its
// payload type, and the media goes both ways in that codec and Opus. The element hangs up.

import {after, afterEach, before, test} from 'node:test';

import {accept, login, waitIncoming, waitState} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {startRig} from './lib/rig.mjs';
import {assertAnswerFits, descriptions} from './lib/sdp.mjs';

let rig;
let element;
before(async () => { rig = await startRig('element-calls', {alice : 'alice'}); });
afterEach(async () => {
  await element?.stop();
  await rig.closePages();
});
after(() => rig?.stop());

for (const codec of VIDEO_CODECS) {
  test(`the element calls Chromium sending ${codec.name}: both ways in ${codec.name} and Opus`,
       async () => {
         element = await startElement(
             rig.server, {label : `element-calls-${codec.encoder}`, video : codec.encoder});
         await element.waitState('logged-in');
         const page = await rig.open('alice', `${codec.encoder}-alice`);
         await login(page, 'alice', 'alice');

         element.send('call alice');
         await waitIncoming(page, 'alice', ELEMENT_USER);
         await accept(page);
         await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
         const {local, remote} = await descriptions(page);
         assertAnswerFits(remote.sdp, local.sdp,
                          {video : codec.mime.split('/')[1], audio : 'OPUS'});
         await expectBothWays(page, 'alice', element, codec);

         element.send('hangup');
         await Promise.all([
           waitState(page, 'alice', 'idle'),
           element.waitState('logged-in', {reason : 'hangup'}),
         ]);
       });
}
