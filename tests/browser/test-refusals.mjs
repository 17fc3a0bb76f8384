// What the client shows when the server or the other user says no: a name already taken, a
// declined call, a name nobody has, a user already in a call.

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {
  accept,
  callByClick,
  callByName,
  decline,
  hangUp,
  login,
  snapshot,
  submitLogin,
  waitError,
  waitFor,
  waitIncoming,
  waitState,
} from './lib/client.mjs';
import {startRig} from './lib/rig.mjs';

let rig;
before(async () => {
  // Who sends what does not matter here: one browser with a camera for everyone.
  rig = await startRig('refusals', {any : 'alice'});
});
afterEach(() => rig.closePages());
after(() => rig?.stop());

test('a name already taken is refused with a visible message', async () => {
  const first = await rig.open('any', 'taken-first');
  await login(first, 'taken-first', 'alice');
  const second = await rig.open('any', 'taken-second');
  await submitLogin(second, 'alice');
  await waitFor(
      second,
      'taken-second',
      'a message in #loginError',
      () => document.getElementById('loginError').checkVisibility() &&
            document.getElementById('loginError').textContent.trim() !== '',
  );
  const shown = await snapshot(second);
  assert.equal(shown.state, 'login', 'the refused page stays on the login page');
  assert.match(shown.loginError, /taken/i);
  assert.equal(await second.isVisible('#loginPage'), true, '#loginPage still shown');
  assert.equal((await snapshot(first)).state, 'idle', 'the first alice is still signed in');

  // The refused page can still sign in under another name.
  await login(second, 'taken-second', 'alice2');
  assert.equal((await snapshot(second)).loginError, '', '#loginError cleared after signing in');
});

test('a declined call is shown to the caller as declined', async () => {
  const alice = await rig.open('any', 'decline-alice');
  const bob = await rig.open('any', 'decline-bob');
  await login(alice, 'decline-alice', 'alice');
  await login(bob, 'decline-bob', 'bob');
  await callByClick(alice, 'decline-alice', 'bob');
  await waitIncoming(bob, 'decline-bob', 'alice');
  await decline(bob);
  await waitError(alice, 'decline-alice', /declined/i);
  await Promise.all([
    waitState(alice, 'decline-alice', 'idle'),
    waitState(bob, 'decline-bob', 'idle'),
  ]);
  assert.match((await snapshot(alice)).error, /bob/, 'the message names who declined');
  assert.equal(await bob.isVisible('#incoming'), false, "bob's incoming-call panel is gone");
});

test('calling a name nobody has says the user is not online', async () => {
  const alice = await rig.open('any', 'offline-alice');
  await login(alice, 'offline-alice', 'alice');
  await callByName(alice, 'offline-alice', 'zed');
  await waitError(alice, 'offline-alice', /zed is not online/i);
  await waitState(alice, 'offline-alice', 'idle');
});

test('calling a user who is in another call says so', async () => {
  const alice = await rig.open('any', 'busy-alice');
  const bob = await rig.open('any', 'busy-bob');
  const carol = await rig.open('any', 'busy-carol');
  await login(alice, 'busy-alice', 'alice');
  await login(bob, 'busy-bob', 'bob');
  await login(carol, 'busy-carol', 'carol');
  await callByClick(alice, 'busy-alice', 'bob');
  await waitIncoming(bob, 'busy-bob', 'alice');
  await accept(bob);
  await waitState(bob, 'busy-bob', 'in-call');

  await callByName(carol, 'busy-carol', 'bob');
  await waitError(carol, 'busy-carol', /bob is in another call/i);
  await waitState(carol, 'busy-carol', 'idle');
  assert.equal((await snapshot(bob)).state, 'in-call', "bob's call goes on");
  await hangUp(alice);
  await waitState(bob, 'busy-bob', 'idle');
});
