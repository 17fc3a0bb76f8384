// One test file's set-up: our server and one Chromium per kind of user.
//
//   const rig = await startRig('calls', {alice: 'alice', viewer: {media: 'bob', camera: false}});
//   const page = await rig.open('alice', 'alice-1'); // the client, connected, on the login page
//   await rig.closePages();                          // after each test
//   await rig.stop();                                // after the file
//
// A spec is an identity of media.mjs (camera and microphone allowed) or { media, camera }.

import {launchBrowser} from './browser.mjs';
import {openClient} from './client.mjs';
import {mediaFor} from './media.mjs';
import {startServer} from './server.mjs';

export async function startRig(name, specs) {
  const server = await startServer(name);
  const browsers = {};
  try {
    await Promise.all(
        Object.entries(specs).map(async ([ key, spec ]) => {
          const {media, camera = true} = typeof spec === 'string' ? {media : spec} : spec;
          browsers[key] = await launchBrowser(await mediaFor(media), {camera});
        }),
    );
  } catch (error) {
    await Promise.all(Object.values(browsers).map((b) => b.close()));
    await server.stop();
    throw error;
  }
  let pages = [];
  return {
    server,
    browsers,
    // The label names the page in failures and its console log file (<name>-<label>).
    async open(browserKey, label) {
      const page = await openClient(browsers[browserKey], server, `${name}-${label}`);
      pages.push(page);
      return page;
    },
    async closePages() {
      const closing = pages;
      pages = [];
      await Promise.all(closing.map((page) => page.context().close()));
    },
    async stop() {
      await this.closePages();
      await Promise.all(Object.values(browsers).map((b) => b.close()));
      await server.stop();
    },
  };
}
