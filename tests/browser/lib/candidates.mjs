// Changes to how a loaded page of the web client handles ICE candidates, for tests of what the
// element does with a browser's candidates. Each replaces a method that client.js looks up at
// every call, so it applies from the next call on; it is the test's doing, not the client's.

// The page drops every candidate its peer sends. It then learns the peer's address only from
// the peer's connectivity checks, so a call connects only if the peer used the page's
// candidates: a test that the element took them.
export function ignoreRemoteCandidates(page) {
  return page.evaluate(() => {
    window.RTCPeerConnection.prototype.addIceCandidate = function(candidate) {
      console.debug(`[test] ignored remote candidate ${candidate?.candidate ?? '(end)'}`);
      return Promise.resolve();
    };
  });
}

// The page's candidates go out with only one of sdpMid and sdpMLineIndex (`keep`), as some
// browsers and libraries send them; the server relays the other as null (protocol.md).
export function sendCandidatesWithOnly(page, keep) {
  return page.evaluate((keep) => {
    const toJSON = RTCIceCandidate.prototype.toJSON;
    RTCIceCandidate.prototype.toJSON = function() {
      const json = toJSON.call(this);
      delete json[keep === 'sdpMid' ? 'sdpMLineIndex' : 'sdpMid'];
      return json;
    };
  }, keep);
}

// Resolves once the page's newest peer connection has gathered all its candidates (and so has
// handed them to the client, which sends them once its description is out).
export function gatheringComplete(page) {
  return page.waitForFunction(() => {
    const pc = (window.__rigPeerConnections ?? []).at(-1);
    return pc?.iceGatheringState === 'complete';
  }, null, {timeout : 15_000, polling : 100});
}
