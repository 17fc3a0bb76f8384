// A TCP relay in front of the server, for a connection that dies without the server noticing:
// cut() drops the page's side of every relayed connection and leaves the server's side open and
// silent, as a network that lost its link would. The page loads through it, so its WebSocket
// goes through it too.
//
// It also brings a server on another address to 127.0.0.1 (targetHost): a page from there is on
// a secure origin, which getUserMedia requires, and one from http://10.99.0.1 is not.

import {connect, createServer} from 'node:net';

export async function startRelay(targetPort, targetHost = '127.0.0.1') {
  const pairs = new Set();
  const listener = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair = {client, upstream};
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    // A reset on either side is part of the game, not a test failure.
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => {
      if (pairs.has(pair)) { // closed by the page, not cut: pass it on
        pairs.delete(pair);
        upstream.destroy();
      }
    });
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const cutOff = []; // server sides kept open after a cut
  return {
    httpUrl : `http://127.0.0.1:${listener.address().port}/`,
    cut() {
      for (const pair of pairs) {
        pairs.delete(pair);
        pair.upstream.unpipe(pair.client);
        pair.client.destroy();
        cutOff.push(pair.upstream);
      }
    },
    close() {
      for (const {client, upstream} of pairs) {
        client.destroy();
        upstream.destroy();
      }
      for (const upstream of cutOff)
        upstream.destroy();
      listener.close();
    },
  };
}
