// The server goes away mid-session and comes back on the same port: the pages say so, reconnect
// by themselves, sign in again under the same names, and can call each other afterwards.

import assert from 'node:assert/strict';
import {after, afterEach, before, test} from 'node:test';

import {expectMediaFrom, waitPicture} from './lib/checks.mjs';
import {
  accept,
  callByClick,
  login,
  snapshot,
  waitConnection,
  waitError,
  waitFor,
  waitIncoming,
  waitState,
} from './lib/client.mjs';
import {startRig} from './lib/rig.mjs';

let rig;
before(async () => { rig = await startRig('restart', {alice : 'alice', bob : 'bob'}); });
afterEach(() => rig.closePages());
after(() => rig?.stop());

// The client backs off up to 8 s between attempts; give it a few.
const RECONNECT_TIMEOUT_MS = 30_000;

test('pages reconnect and sign in again after a server restart, and can call', async () => {
  const alice = await rig.open('alice', 'alice');
  const bob = await rig.open('bob', 'bob');
  await login(alice, 'alice', 'alice');
  await login(bob, 'bob', 'bob');
  await waitPicture(alice, 'alice', '#localVideo', 'smpte'); // cameras on
  await waitPicture(bob, 'bob', '#localVideo', 'orange');

  await rig.server.stop();
  for (const [page, label] of [[ alice, 'alice' ], [ bob, 'bob' ]]) {
    await waitConnection(page, label, 'reconnecting');
    await waitError(page, label, /server/i);
  }

  await rig.server.restart();
  for (const [page, label] of [[ alice, 'alice' ], [ bob, 'bob' ]]) {
    await waitConnection(page, label, 'connected', RECONNECT_TIMEOUT_MS);
    await waitState(page, label, 'idle', RECONNECT_TIMEOUT_MS);
  }
  // Signed in again under the same names: each is in the other's list, and the server knows
  // both (the restarted server starts with nobody).
  await waitFor(alice, 'alice', 'bob in #users',
                () => !!document.querySelector('#users li[data-user="bob"]'));
  await waitFor(bob, 'bob', 'alice in #users',
                () => !!document.querySelector('#users li[data-user="alice"]'));
  const health = await (await fetch(`${rig.server.httpUrl}healthz`)).json();
  assert.equal(health.users, 2,
               `the restarted server has both signed in: ${JSON.stringify(health)}`);
  for (const page of [alice, bob]) {
    assert.doesNotMatch((await snapshot(page)).error, /server/i, 'the lost-server message is gone');
  }

  await callByClick(alice, 'alice', 'bob');
  await waitIncoming(bob, 'bob', 'alice');
  await accept(bob);
  await Promise.all([ waitState(alice, 'alice', 'in-call'), waitState(bob, 'bob', 'in-call') ]);
  await Promise.all(
      [ expectMediaFrom(alice, 'alice', 'bob'), expectMediaFrom(bob, 'bob', 'alice') ]);
});
