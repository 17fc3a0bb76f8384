// What Chromium itself says about a call: getStats() of the page's newest RTCPeerConnection
// (browser.mjs keeps them in window.__rigPeerConnections), polled until the RTP streams show
// the expected codec, size and counters advancing, or the selected ICE path. Stats fire no
// event, hence the polling.

import {pageLog} from './browser.mjs';
import {HEIGHT, WIDTH} from './media.mjs';

const TIMEOUT_MS = 15_000;
const FRAMES = 15;

// Runs in the page: the RTP streams of the newest peer connection, keyed "inbound-video",
// "outbound-audio" and so on, each with its codec's MIME type and its counters.
async function rtpInPage() {
  const connections = window.__rigPeerConnections ?? [];
  const pc = connections[connections.length - 1];
  if (!pc)
    return {why : 'no peer connection'};
  const report = await pc.getStats();
  const streams = {};
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp')
      return;
    const codec = s.codecId ? report.get(s.codecId) : undefined;
    streams[`${s.type.replace('-rtp', '')}-${s.kind}`] = {
      codec : codec?.mimeType,
      payloadType : codec?.payloadType,
      frames : s.type === 'inbound-rtp' ? s.framesDecoded : s.framesEncoded,
      width : s.frameWidth,
      height : s.frameHeight,
      packets : s.packetsReceived ?? s.packetsSent,
      samples : s.totalSamplesReceived,
    };
  });
  return {connection : pc.connectionState, streams};
}

export function rtpStats(page) { return page.evaluate(rtpInPage); }

// Polls the page's stats until check(stats) returns true; fails naming `what` and the last stats.
async function pollStats(page, label, what, check, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await rtpStats(page);
    if (check(last))
      return last;
    if (Date.now() > deadline)
      break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${label}: ${what} not seen in getStats() within ${timeoutMs} ms; last: ` +
                  `${JSON.stringify(last)}\n${pageLog(page)}`);
}

// One stream's counter (frames, or samples for audio) moves on by `by` with the given codec.
async function expectAdvancing(page, label, key, counter, codec, by, extra = () => true) {
  // MIME types compare without case: Chromium names a codec as the SDP spells it (OPUS, opus).
  const matches = (s) => s && s.codec?.toLowerCase() === codec.toLowerCase() && extra(s);
  const first =
      await pollStats(page, label, `${key} in ${codec}`,
                      (stats) => matches(stats.streams?.[key]) && stats.streams[key][counter] > 0);
  const start = first.streams[key][counter];
  return pollStats(page, label, `${key} ${counter} advancing by ${by} from ${start} in ${codec}`,
                   (stats) =>
                       matches(stats.streams?.[key]) && stats.streams[key][counter] >= start + by);
}

// Chromium decodes `video` (a MIME type such as video/VP9) at the fake camera's size, frames
// advancing, and Opus audio, samples advancing; when `sends`, it also encodes `video` and
// sends Opus.
export async function expectRtp(page, label, {video, sends = true}) {
  const size = (s) => s.width === WIDTH && s.height === HEIGHT;
  await expectAdvancing(page, label, 'inbound-video', 'frames', video, FRAMES, size);
  await expectAdvancing(page, label, 'inbound-audio', 'samples', 'audio/opus', 48000 / 2);
  if (sends) {
    await expectAdvancing(page, label, 'outbound-video', 'frames', video, FRAMES);
    await expectAdvancing(page, label, 'outbound-audio', 'packets', 'audio/opus', 25);
  }
}

// Runs in the page: the ICE path the newest peer connection uses, from its transport's selected
// candidate pair (the pair that carries the media): each end's type (host, srflx, prflx or relay,
// the last meaning through TURN) and address.
async function pathInPage() {
  const connections = window.__rigPeerConnections ?? [];
  const pc = connections[connections.length - 1];
  if (!pc)
    return {why : 'no peer connection'};
  const report = await pc.getStats();
  let pair;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId)
      pair = report.get(s.selectedCandidatePairId);
  });
  if (!pair)
    return {why : 'no selected candidate pair', connection : pc.connectionState};
  const end = (id) => {
    const c = report.get(id);
    return c && {type : c.candidateType, address : `${c.address}:${c.port}`, url : c.url};
  };
  return {
    state : pair.state,
    nominated : pair.nominated,
    bytesReceived : pair.bytesReceived,
    local : end(pair.localCandidateId),
    remote : end(pair.remoteCandidateId),
  };
}

// Chromium's selected candidate pair once it has succeeded and carried media: { local, remote },
// each { type, address, url }.
export async function selectedPath(page, label, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await page.evaluate(pathInPage);
    if (last.state === 'succeeded' && last.bytesReceived > 0 && last.local && last.remote)
      return last;
    if (Date.now() > deadline)
      break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${label}: no selected candidate pair carrying media in getStats() within ` +
                  `${timeoutMs} ms; last: ${JSON.stringify(last)}\n${pageLog(page)}`);
}
