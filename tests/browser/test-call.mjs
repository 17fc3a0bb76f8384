// Calls between two browsers through the web client and our server: each sees the other's
// picture moving and hears the other's tone; hanging up returns both to idle, and they can call
// again.

import {after, afterEach, before, test} from 'node:test';

import {expectMediaFrom, waitPicture} from './lib/checks.mjs';
import {
  accept,
  callByClick,
  callByName,
  hangUp,
  login,
  waitIncoming,
  waitState,
} from './lib/client.mjs';
import {startRig} from './lib/rig.mjs';

let rig;
before(async () => { rig = await startRig('call', {alice : 'alice', bob : 'bob'}); });
afterEach(() => rig.closePages());
after(() => rig?.stop());

// Signs alice and bob in under the given names, each with their own picture in the preview.
async function signIn(aliceName, bobName) {
  const alice = await rig.open('alice', aliceName);
  const bob = await rig.open('bob', bobName);
  await login(alice, aliceName, aliceName);
  await login(bob, bobName, bobName);
  await waitPicture(alice, aliceName, '#localVideo', 'smpte');
  await waitPicture(bob, bobName, '#localVideo', 'orange');
  return {alice, bob};
}

// caller calls callee (by clicking them in the list, or by typing the name) and callee accepts.
async function placeCall(caller, callerName, callee, calleeName, how = 'click') {
  if (how === 'click')
    await callByClick(caller, callerName, calleeName);
  else
    await callByName(caller, callerName, calleeName);
  await waitIncoming(callee, calleeName, callerName);
  await accept(callee);
  await Promise.all([
    waitState(caller, callerName, 'in-call'),
    waitState(callee, calleeName, 'in-call'),
  ]);
}

test('a call shows each side the other\'s picture, moving, and plays its tone', async () => {
  const {alice, bob} = await signIn('alice', 'bob');
  await placeCall(alice, 'alice', bob, 'bob');
  await Promise.all([
    expectMediaFrom(alice, 'alice', 'bob'),
    expectMediaFrom(bob, 'bob', 'alice'),
  ]);
});

test('hanging up returns both to idle, and a second call works', async () => {
  const {alice, bob} = await signIn('anna', 'ben');
  await placeCall(alice, 'anna', bob, 'ben');
  await Promise.all(
      [ expectMediaFrom(alice, 'anna', 'bob'), expectMediaFrom(bob, 'ben', 'alice') ]);

  await hangUp(alice);
  await Promise.all([ waitState(alice, 'anna', 'idle'), waitState(bob, 'ben', 'idle') ]);

  // The second call goes the other way and by typed name, and is hung up by its callee.
  await placeCall(bob, 'ben', alice, 'anna', 'type');
  await Promise.all(
      [ expectMediaFrom(alice, 'anna', 'bob'), expectMediaFrom(bob, 'ben', 'alice') ]);
  await hangUp(alice);
  await Promise.all([ waitState(alice, 'anna', 'idle'), waitState(bob, 'ben', 'idle') ]);
});
