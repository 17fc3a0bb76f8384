// Offers and answers between Chromium and the element, read from the page's own peer connection
// (browser.mjs keeps it): an answer must keep the offer's m-lines in order, bundle them on
// rtcp-mux, and send each kind in the expected codec with the payload type the offer gave it.

import assert from 'node:assert/strict';

// m-lines of an SDP text: {kind, port, mid, payloadTypes, codecs: {pt: 'VP9/90000'}, fmtp,
// attributes}.
export function mediaSections(sdp) {
  const sections = [];
  let current = null;
  for (const line of sdp.split(/\r?\n/)) {
    const media = /^m=(\w+) (\d+) \S+ (.*)$/.exec(line);
    if (media) {
      current = {
        kind : media[1],
        port : Number(media[2]),
        payloadTypes : media[3].trim().split(' ').map(Number),
        codecs : {},
        fmtp : {},
        attributes : [],
      };
      sections.push(current);
      continue;
    }
    if (!current || !line.startsWith('a='))
      continue;
    current.attributes.push(line.slice(2));
    const rtpmap = /^a=rtpmap:(\d+) (\S+)/.exec(line);
    if (rtpmap)
      current.codecs[rtpmap[1]] = rtpmap[2];
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp)
      current.fmtp[fmtp[1]] = fmtp[2];
    const mid = /^a=mid:(.*)$/.exec(line);
    if (mid)
      current.mid = mid[1];
  }
  return sections;
}

// The page's newest peer connection's local and remote descriptions.
export function descriptions(page) {
  return page.evaluate(() => {
    const pc = (window.__rigPeerConnections ?? []).at(-1);
    return {local : pc?.localDescription?.toJSON(), remote : pc?.remoteDescription?.toJSON()};
  });
}

// `codecs` maps a kind to the encoding name the answer must choose for it, e.g.
// {video: 'VP9', audio: 'OPUS'}.
export function assertAnswerFits(offer, answer, codecs) {
  const offered = mediaSections(offer);
  const answered = mediaSections(answer);
  assert.deepEqual(answered.map((m) => `${m.kind}:${m.mid}`),
                   offered.map((m) => `${m.kind}:${m.mid}`),
                   'the answer keeps the offer\'s m-lines, in order');
  const bundle = /^a=group:BUNDLE (.*)$/m.exec(answer);
  assert.ok(bundle, 'the answer bundles');
  assert.deepEqual(bundle[1].trim().split(' '), answered.map((m) => m.mid),
                   'every m-line is in the bundle');
  for (const [index, m] of answered.entries()) {
    const where = `m-line ${index} (${m.kind})`;
    assert.ok(m.attributes.includes('rtcp-mux'), `${where} has rtcp-mux`);
    const name = codecs[m.kind];
    const pt = m.payloadTypes[0];
    const codec = m.codecs[pt]?.split('/')[0];
    assert.equal(codec?.toUpperCase(), name.toUpperCase(),
                 `${where} sends ${name}: ${JSON.stringify(m.codecs)}`);
    const theirs = offered[index];
    assert.equal(theirs.codecs[pt]?.split('/')[0].toUpperCase(), name.toUpperCase(),
                 `${where}: payload type ${pt} is ${name} in the offer too`);
    for (const other of m.payloadTypes)
      assert.ok(other in theirs.codecs, `${where}: payload type ${other} was offered`);
    // Header extensions: only offered ones, with the offer's ids, and transport-wide congestion
    // control among them (without it Chromium sizes its stream on loss alone).
    const extmaps = (section) => section.attributes.filter((a) => a.startsWith('extmap:'));
    for (const extmap of extmaps(m))
      assert.ok(extmaps(theirs).includes(extmap), `${where}: ${extmap} was offered`);
    if (extmaps(theirs).some((a) => a.endsWith(TWCC)))
      assert.ok(extmaps(m).some((a) => a.endsWith(TWCC)), `${where} answers transport-wide-cc`);
  }
}

const TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
