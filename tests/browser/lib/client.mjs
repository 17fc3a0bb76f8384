// Drives signaling/web (the web client) through what a user sees and does, by its DOM contract:
// #loginPage (#usernameInput, #loginBtn, #loginError), #callPage (#localVideo, #remoteVideo,
// #callToUsernameInput, #callBtn, #hangUpBtn, #users li[data-user], #incoming with
// #incomingCaller, #acceptBtn, #declineBtn, #status, #error, #connection), and
// body[data-state] (login idle calling ringing in-call), body[data-connection]
// (connected reconnecting).
//
// Each helper is one user action or one awaited outcome; a wait that times out fails with the
// page's label, what it awaited, what the page showed and the page's recent console.

import {openPage, pageLog} from './browser.mjs';

export const DEFAULT_TIMEOUT_MS = 15_000;

// What the page shows now, for failure messages and assertions.
export function snapshot(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent.trim() ?? '(missing)';
    return {
      state : document.body.dataset.state,
      connection : document.body.dataset.connection,
      connectionText : text('connection'),
      status : text('status'),
      error : text('error'),
      loginError : text('loginError'),
      incoming : !document.getElementById('incoming')?.hidden,
      users : [...document.querySelectorAll('#users li[data-user]') ].map((li) => li.dataset.user),
    };
  });
}

// Waits for fn(arg) to hold in the page; on timeout, fails with everything worth knowing.
export async function waitFor(page, label, what, fn, arg, timeoutMs = DEFAULT_TIMEOUT_MS) {
  try {
    await page.waitForFunction(fn, arg, {timeout : timeoutMs, polling : 100});
  } catch (error) {
    let shown;
    try {
      shown = JSON.stringify(await snapshot(page));
    } catch (snapshotError) {
      shown = `(no snapshot: ${snapshotError.message})`;
    }
    const why = error.message.split('\n')[0];
    throw new Error(`${label}: ${what} did not happen within ${timeoutMs} ms (${why})\n` +
                    `  page shows: ${shown}\n${pageLog(page)}`);
  }
}

export function waitState(page, label, state, timeoutMs) {
  return waitFor(
      page,
      label,
      `state "${state}"`,
      (s) => document.body.dataset.state === s,
      state,
      timeoutMs,
  );
}

export function waitConnection(page, label, connection, timeoutMs) {
  return waitFor(
      page,
      label,
      `connection "${connection}"`,
      (c) => document.body.dataset.connection === c &&
             document.getElementById('connection').textContent.trim() === c,
      connection,
      timeoutMs,
  );
}

// Waits until #error's text matches pattern.
export function waitError(page, label, pattern, timeoutMs) {
  return waitFor(
      page,
      label,
      `#error matching ${pattern}`,
      ({source, flags}) =>
          new RegExp(source, flags).test(document.getElementById('error').textContent),
      {source : pattern.source, flags : pattern.flags},
      timeoutMs,
  );
}

// Opens the client from server (a fresh context of browser) as `name`'s page, once it is
// connected to the server.
export async function openClient(browser, server, label) {
  const page = await openPage(browser, server.httpUrl, label);
  await waitState(page, label, 'login');
  await waitConnection(page, label, 'connected');
  return page;
}

// Types a name and signs in; does not wait for the outcome.
export async function submitLogin(page, name) {
  await page.fill('#usernameInput', name);
  await page.click('#loginBtn');
}

// Signs in and waits for the call page.
export async function login(page, label, name) {
  await submitLogin(page, name);
  await waitState(page, label, 'idle');
  await waitFor(page, label, '#callPage visible', () => {
    const page = document.getElementById('callPage');
    return page && page.checkVisibility() &&
           !document.getElementById('loginPage').checkVisibility();
  });
}

// Clicks `callee`'s entry in the list of online users, once it is there.
export async function clickUser(page, label, callee) {
  const entry = `#users li[data-user="${callee}"]`;
  await waitFor(page, label, `${callee} in #users`, (s) => !!document.querySelector(s), entry);
  await page.click(entry);
}

// Calls `callee` by clicking their entry in the list of online users.
export async function callByClick(page, label, callee) {
  await clickUser(page, label, callee);
  await waitFor(
      page,
      label,
      `state "calling" or "in-call" after clicking ${callee}`,
      () => ['calling', 'in-call'].includes(document.body.dataset.state),
  );
}

// Calls `callee` by typing the name and pressing Call.
export async function callByName(page, label, callee) {
  await page.fill('#callToUsernameInput', callee);
  await page.click('#callBtn');
}

// Waits for the incoming-call panel naming `caller`.
export async function waitIncoming(page, label, caller) {
  await waitState(page, label, 'ringing');
  await waitFor(
      page,
      label,
      `#incoming visible with caller ${caller}`,
      (c) => {
        const panel = document.getElementById('incoming');
        return panel.checkVisibility() &&
               document.getElementById('incomingCaller').textContent.trim() === c;
      },
      caller,
  );
}

export const accept = (page) => page.click('#acceptBtn');
export const decline = (page) => page.click('#declineBtn');
export const hangUp = (page) => page.click('#hangUpBtn');
