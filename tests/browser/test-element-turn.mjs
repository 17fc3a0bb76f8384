// Calls between Chromium and the element that only a TURN relay can carry.
//
// Three network namespaces. netns.sh runs this script, and so Chromium, in one whose eth0 leads
// to a second (WEBRTCCALL_NETNS_PEER): the services' namespace, where coturn and our server
// listen on 10.99.0.1, an address on its loopback, so every neighbour reaches it. The element
// runs in a third namespace made here, whose eth0 also leads only to the services' namespace.
// That one does not forward, so Chromium and the element cannot reach each other: the only path
// between them goes through coturn's relay addresses.
//
// Cases: credentials our server issues (--turn-secret; coturn --use-auth-secret), which the page
// and the element (its turn-server empty) take from the login reply; static credentials
// (coturn --lt-cred-mech), the page's from our server's --ice-server, the element's from its
// turn-server property, both percent-encoded; and issued credentials refreshed (ice-servers)
// after the login's have expired. Each call must carry media both ways, each side's selected
// candidate pair must have a relay end (Chromium's from getStats(), the element's from
// webrtccall-stats), and coturn must have given each side a relay address under the
// credentials it was meant to use: the selected pair usually joins one side's relay address to
// the other's host address, so the pair alone would not notice one side's TURN set-up failing.

import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {after, afterEach, before, test} from 'node:test';

import {launchBrowser} from './lib/browser.mjs';
import {accept, callByClick, login, openClient, waitIncoming, waitState} from './lib/client.mjs';
import {ELEMENT_USER, expectBothWays, startElement, VIDEO_CODECS} from './lib/element.mjs';
import {mediaFor} from './lib/media.mjs';
import {startServer} from './lib/server.mjs';
import {selectedPath} from './lib/stats.mjs';
import {startRelay} from './lib/tcp-relay.mjs';
import {startCoturn, TURN_PORT} from './lib/turn.mjs';

const SERVICES_IP = '10.99.0.1';
const TURN_URL = `turn:${SERVICES_IP}:${TURN_PORT}`;
const SECRET = 'coturn-shares-this';
// Every character a URI reserves, so that the percent-encoding on both paths is tested.
const PASSWORD = 'p:a/s+s=w@rd';
const ENCODED_PASSWORD = encodeURIComponent(PASSWORD);
const VP8 = VIDEO_CODECS.find((c) => c.encoder === 'vp8');

const ip = (...args) => execFileSync('ip', args, {stdio : [ 'ignore', 'ignore', 'pipe' ]});

const browserNs = process.env.WEBRTCCALL_NETNS;
const servicesNs = process.env.WEBRTCCALL_NETNS_PEER;
const elementNs = `${browserNs}-element`;

let browser;
// One case's coturn, server, relay to the server and element, stopped after it.
let running = {};

before(async () => {
  if (!browserNs || !servicesNs)
    throw new Error('run this through tests/browser/netns.sh, which makes its namespaces');
  ip('-n', servicesNs, 'addr', 'add', `${SERVICES_IP}/32`, 'dev', 'lo');
  // A new namespace may inherit forwarding from the host's; everything here rests on its
  // absence.
  ip('netns', 'exec', servicesNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0');
  ip('netns', 'add', elementNs);
  ip('-n', elementNs, 'link', 'set', 'lo', 'up');
  // eth0, not veth*: libnice skips veth interfaces (netns.sh).
  ip('-n', elementNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth2', 'netns',
     servicesNs);
  ip('-n', elementNs, 'addr', 'add', '10.213.8.1/24', 'dev', 'eth0');
  ip('-n', servicesNs, 'addr', 'add', '10.213.8.2/24', 'dev', 'eth2');
  ip('-n', elementNs, 'link', 'set', 'eth0', 'up');
  ip('-n', servicesNs, 'link', 'set', 'eth2', 'up');
  ip('-n', elementNs, 'route', 'add', 'default', 'via', '10.213.8.2');
  browser = await launchBrowser(await mediaFor('alice'));
});

afterEach(async () => {
  const {element, page, relay, server, coturn} = running;
  running = {};
  await element?.stop();
  await page?.context().close();
  relay?.close();
  await server?.stop();
  await coturn?.stop();
});

after(async () => {
  await browser?.close();
  try {
    ip('netns', 'delete', elementNs); // takes its veth pair with it
  } catch {
    // before() failed before making it
  }
});

// coturn with `auth`, our server with `serverArgs`, both in the services' namespace, the element
// in its own with `properties`, and alice's page, loaded through a relay on this namespace's
// 127.0.0.1 (a secure origin, so the page may use the fake camera), signed in.
async function setUp(name, {auth, serverArgs, properties = ''}) {
  running.coturn = await startCoturn(name, {namespace : servicesNs, address : SERVICES_IP, auth});
  running.server = await startServer(name, {
    namespace : servicesNs,
    host : SERVICES_IP,
    args : serverArgs,
  });
  running.relay = await startRelay(running.server.port, SERVICES_IP);
  running.element = await startElement(running.server, {
    label : name,
    namespace : elementNs,
    properties,
  });
  await running.element.waitState('logged-in');
  running.page = await openClient(browser, running.relay, `${name}-alice`);
  await login(running.page, 'alice', 'alice');
  return running;
}

// The one TURN server the page's RTCPeerConnection was made with, the web client's from our
// server (its login reply or a refresh); fails unless there is exactly that one. Messages are
// ours throughout: node's own diffs break meson's TAP parser.
async function pageTurnServer(page) {
  const servers = await page.evaluate(() => {
    const connections = window.__rigPeerConnections ?? [];
    return connections[connections.length - 1]?.getConfiguration().iceServers ?? null;
  });
  const [server] = servers ?? [];
  assert.ok(servers?.length === 1 && server.urls.length === 1 && server.urls[0] === TURN_URL,
            `the page's ICE servers are not ${TURN_URL} alone: ${JSON.stringify(servers)}`);
  return server;
}

// The expiry of a TURN REST API user name, EXPIRY:NAME (seconds since 1970).
const expiryOf = (username) => Number(username.split(':')[0]);

// Media both ways, and both sides' selected candidate pairs go through TURN.
async function expectRelayedCall(t, {page, element, coturn}) {
  const since = element.events.length;
  await expectBothWays(page, 'alice', element, VP8);

  const path = await selectedPath(page, 'alice');
  t.diagnostic(`Chromium's path: ${path.local.type} ${path.local.address} -> ` +
               `${path.remote.type} ${path.remote.address}`);
  assert.ok([ path.local.type, path.remote.type ].includes('relay'),
            `Chromium's selected candidate pair does not go through TURN: ${JSON.stringify(path)}`);

  const stats =
      await element.waitFor('webrtccall-stats naming the path',
                            (e) => e.event === 'stats' && e['local-candidate-type'], {since});
  const types = [ stats['local-candidate-type'], stats['remote-candidate-type'] ];
  t.diagnostic(`the element's path: ${types[0]} -> ${types[1]}`);
  assert.ok(types.includes('relay'),
            `the element's selected candidate pair does not go through TURN: ${types}`);
  return coturn.allocations();
}

test('Chromium calls the element through TURN with credentials our server issues', async (t) => {
  const {page, element} = await setUp('element-turn-issued', {
    auth : [ '--use-auth-secret', '--static-auth-secret', SECRET ],
    serverArgs : [ '--turn-secret', SECRET, '--turn-url', TURN_URL ],
  });
  await callByClick(page, 'alice', ELEMENT_USER);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);

  const {username} = await pageTurnServer(page);
  assert.ok(/^\d+:alice$/.test(username), `not a user name our server issues: ${username}`);

  const users = await expectRelayedCall(t, running);
  // Each side allocated with its own issued credentials: the element with those of its
  // login reply, as its turn-server is empty.
  assert.ok(users.some((u) => /^\d+:alice$/.test(u)), `coturn's allocations: ${users}`);
  assert.ok(users.some((u) => u.endsWith(`:${ELEMENT_USER}`)), `coturn's allocations: ${users}`);
});

test('the element calls Chromium through TURN with static credentials', async (t) => {
  const {page, element} = await setUp('element-turn-static', {
    auth : [ '--lt-cred-mech', '--user', `browser:${PASSWORD}`, '--user', `device:${PASSWORD}` ],
    serverArgs : [ '--ice-server', `turn:browser:${ENCODED_PASSWORD}@${SERVICES_IP}:${TURN_PORT}` ],
    properties : `turn-server=turn://device:${ENCODED_PASSWORD}@${SERVICES_IP}:${TURN_PORT}`,
  });
  element.send('call alice');
  await waitIncoming(page, 'alice', ELEMENT_USER);
  await accept(page);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);

  const {username, credential} = await pageTurnServer(page);
  assert.ok(username === 'browser' && credential === PASSWORD,
            `not the --ice-server's credentials, decoded: ${username} ${credential}`);

  const users = await expectRelayedCall(t, running);
  // The element used its turn-server (user "device"), not the server's (user "browser").
  assert.ok(JSON.stringify(users.sort()) === '["browser","device"]',
            `coturn's allocations: ${users}`);
});

// The server sends fresh credentials at half their lifetime (an ice-servers message); the page
// and the element must take them for the calls to come. Here the login reply's have expired
// before the call, and coturn refuses an expired REST API user name, so the call is relayed
// only if both sides use a refresh.
test('a call after the login\'s TURN credentials expired is relayed with fresh ones', async (t) => {
  const TTL_S = 8;
  const {page, element} = await setUp('element-turn-refreshed', {
    auth : [ '--use-auth-secret', '--static-auth-secret', SECRET ],
    serverArgs : [ '--turn-secret', SECRET, '--turn-url', TURN_URL, '--turn-ttl', String(TTL_S) ],
  });
  // Both logged in by now, so every login reply's credentials end by this second.
  const loginExpiry = Math.ceil(Date.now() / 1000) + TTL_S;
  // Nothing signals the expiry: it is coturn's clock passing the time in the user name.
  await new Promise((r) => setTimeout(r, (loginExpiry + 1) * 1000 - Date.now()));

  await callByClick(page, 'alice', ELEMENT_USER);
  await Promise.all([ waitState(page, 'alice', 'in-call'), element.waitState('in-call') ]);
  const {username} = await pageTurnServer(page);
  assert.ok(
      expiryOf(username) > loginExpiry,
      `the page called with its login's credentials (${username}, expired by ${loginExpiry})`);

  const users = await expectRelayedCall(t, running);
  for (const name of ['alice', ELEMENT_USER]) {
    assert.ok(users.some((u) => u.endsWith(`:${name}`) && expiryOf(u) > loginExpiry),
              `no allocation for ${name} with fresh credentials; coturn's: ${users}`);
  }
});
