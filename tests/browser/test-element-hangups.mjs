// Every way a call between Chromium and the element ends: the page hangs up, the element hangs
// up, the tab is closed, the element's pipeline goes to NULL. Each time both sides end up idle
// (the page's state idle, the element logged in) and the next call carries media both ways.

import {after, afterEach, before, test} from 'node:test';

import {
  accept,
  callByClick,
  hangUp,
  login,
  waitError,
  waitIncoming,
  waitState,
} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {startRig} from './lib/rig.mjs';

const VP8 = VIDEO_CODECS.find((c) => c.name === 'VP8');

let rig;
let element;
before(async () => { rig = await startRig('element-hangups', {alice : 'alice'}); });
afterEach(async () => {
  await element?.stop();
  await rig.closePages();
});
after(() => rig?.stop());

async function signIn(label) {
  element = await startElement(rig.server, {label : `element-hangups-${label}`});
  await element.waitState('logged-in');
  return openAlice(label);
}

async function openAlice(label) {
  const page = await rig.open('alice', `${label}-alice`);
  await login(page, 'alice', 'alice');
  return page;
}

async function pageCalls(page) {
  await callByClick(page, 'alice', ELEMENT_USER);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
  await expectBothWays(page, 'alice', element, VP8);
}

async function elementCalls(page) {
  element.send('call alice');
  await waitIncoming(page, 'alice', ELEMENT_USER);
  await accept(page);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
  await expectBothWays(page, 'alice', element, VP8);
}

test('the page hangs up: both idle, and the element calls again', async () => {
  const page = await signIn('page-hangs-up');
  await pageCalls(page);
  await hangUp(page);
  await Promise.all([
    waitState(page, 'alice', 'idle'),
    element.waitState('logged-in', {reason : 'remote-hangup'}),
  ]);
  await elementCalls(page);
});

test('the element hangs up: both idle, and the page calls again', async () => {
  const page = await signIn('element-hangs-up');
  await elementCalls(page);
  element.send('hangup');
  await Promise.all([
    waitState(page, 'alice', 'idle'),
    waitError(page, 'alice', /hung up/),
    element.waitState('logged-in', {reason : 'hangup'}),
  ]);
  await pageCalls(page);
});

test('the tab closed mid-call ends the element\'s call; a new tab calls again', async () => {
  const page = await signIn('tab-closed');
  await pageCalls(page);
  // As a user closing the tab: no beforeunload handler runs, the socket just goes.
  await page.close({runBeforeUnload : false});
  await element.waitState('logged-in', {reason : 'peer-gone'});

  const again = await openAlice('tab-closed-again');
  await pageCalls(again);
});

test(
    'the element\'s pipeline set to NULL mid-call ends the page\'s call; playing, it is called again',
    async () => {
      const page = await signIn('element-stopped');
      await pageCalls(page);
      element.send('stop');
      await element.waitFor('the pipeline stopped', (e) => e.event === 'stopped');
      await Promise.all([
        waitState(page, 'alice', 'idle'),
        waitError(page, 'alice', new RegExp(`${ELEMENT_USER} (left|hung up)`)),
      ]);

      element.send('play');
      await element.waitState('logged-in');
      await pageCalls(page);
    });
