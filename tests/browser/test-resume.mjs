// A page whose connection died without the server noticing (a lost link, not a closed socket)
// reconnects and takes its name back at once with the server's resume token, instead of being
// refused as a taken name until the server's keepalive gives up on the dead connection.

import assert from 'node:assert/strict';
import {after, before, test} from 'node:test';

import {login, openClient, snapshot, waitConnection, waitState} from './lib/client.mjs';
import {startRig} from './lib/rig.mjs';
import {startRelay} from './lib/tcp-relay.mjs';

let rig;
let relay;
before(async () => {
  rig = await startRig('resume', {alice : 'alice'});
  relay = await startRelay(rig.server.port);
});
after(async () => {
  relay?.close();
  await rig?.stop();
});

// The client retries after 0.5 s; the server's keepalive would take 45 s.
const RESUME_TIMEOUT_MS = 5_000;

test('a page whose connection died signs in again at once under its name', async () => {
  const alice = await openClient(rig.browsers.alice, relay, 'resume-alice');
  try {
    await login(alice, 'alice', 'alice');
    relay.cut();
    await waitConnection(alice, 'alice', 'reconnecting');
    await waitConnection(alice, 'alice', 'connected', RESUME_TIMEOUT_MS);
    await waitState(alice, 'alice', 'idle', RESUME_TIMEOUT_MS);
    const shown = await snapshot(alice);
    assert.doesNotMatch(shown.error, /sign in again/i, 'no refusal was shown');
    // One alice: the new connection took the name over from the dead one.
    const health = await (await fetch(`${rig.server.httpUrl}healthz`)).json();
    assert.equal(health.users, 1, JSON.stringify(health));
  } finally {
    await alice.close();
  }
});
