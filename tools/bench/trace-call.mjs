// Where an element-to-element call's set-up time goes: one warm-up call, then one call traced
// with GST_DEBUG, its milestones put on one wall-clock axis (ms from the call action) for both
// processes. bench-peer logs "wall-clock T" lines that tie each process's debug clock to the
// wall clock.
//
//   node tools/bench/trace-call.mjs [--out DIR] [-- bench-peer options, e.g. --latency 20]
//
// Needs WEBRTCCALL_SIGNALING, GST_PLUGIN_PATH (tools/bench/run sets them the same way).

import {mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseArgs} from 'node:util';

import {startServer} from '../../tests/browser/lib/server.mjs';

import {startPeer} from './lib/peer.mjs';

const {values, positionals} =
    parseArgs({options : {out : {type : 'string', default : '/tmp/webrtccall-trace'}}, allowPositionals : true});
const out = values.out;
mkdirSync(out, {recursive : true});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What to look for in each side's log, in the order a call goes through them.
const MILESTONES = [
  ['call action', /wall-clock [\d.]+: calling/],
  ['state calling', /state calling/],
  ['offer made (local offer)', /local offer:/],
  ['remote description set', /Attempting to set remote (offer|answer)/],
  ['answer made (local answer)', /local answer:/],
  ['DTLS certificate made', /DTLS certificate made|generate_x509|Generating certificate|generated certificate/i],
  ['keyframe asked for', /asking the encoder for a keyframe/],
  ['first keyframe held', /holding the call's first keyframe/],
  ['ICE checks begin', /ICE connection state change from new\(0\) to checking/],
  ['ICE connected', /ICE connection state change from checking\(1\) to (connected|completed)/],
  ['DTLS done', /handshake just completed|handshake (is )?complete/i],
  ['connection state connected', /connection state 2/],
  ['state in-call', /state in-call/],
  ['first keyframe sent on (held before the path was up)', /the call's first keyframe goes/],
  ['audio src pad (first RTP out of the jitter buffer)', /audio_src_\d+ carries/],
  ['video src pad (first RTP out of the jitter buffer)', /video_src_\d+ carries/],
];

function parse(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  // "0:00:01.234567890 PID 0xTHREAD LEVEL category file:line:function:<object> message"
  const time = (line) => {
    const m = line.match(/^(\d+):(\d+):(\d+\.\d+)/);
    return m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 : null;
  };
  // Offset from the last wall-clock line before the traced call.
  let offset = null;
  for (const line of lines) {
    const m = line.match(/wall-clock ([\d.]+)/);
    if (m && time(line) !== null)
      offset = Number(m[1]) - time(line);
  }
  return {lines, time : (line) => time(line) + offset};
}

const server = await startServer('trace');
const debug = process.env.TRACE_DEBUG || 'webrtccall:6,webrtccall-bench:4,webrtcbin:6,webrtcice:5,dtlsconnection:5,dtlsagent:5';
const args = [ '--ice-addresses', '127.0.0.1', ...positionals ];
const env = {GST_DEBUG : debug, GST_DEBUG_NO_COLOR : '1'};
const alice = await startPeer({server : server.url, user : 'alice', args, logDir : out, env});
const bob = await startPeer({server : server.url, user : 'bob', args, logDir : out, env});
for (const traced of [false, true]) {
  const since = [alice.events.length, bob.events.length];
  const called = await alice.ask('call bob', 'called');
  const [fa, fb] = await Promise.all([ alice.waitFor('ff', (e) => e.event === 'first-frame', {since : since[0]}),
                                       bob.waitFor('ff', (e) => e.event === 'first-frame', {since : since[1]}) ]);
  if (traced) {
    const t0 = called.t;
    console.log(`first decoded frame: alice (caller) +${(fa.t - t0).toFixed(0)} ms, bob (callee) +${
        (fb.t - t0).toFixed(0)} ms`);
    for (const [who, file] of [['alice', 'peer-alice.log'], ['bob', 'peer-bob.log']]) {
      const {lines, time} = parse(join(out, file));
      const start = lines.findLastIndex((l) => /wall-clock [\d.]+: calling/.test(l));
      const from = who === 'alice' ? start : lines.findLastIndex((l) => /wall-clock [\d.]+: playing/.test(l));
      const tail = lines.slice(Math.max(0, from));
      // The callee's milestones are those after the caller's call action.
      for (const [name, pattern] of MILESTONES) {
        const line = tail.find((l) => pattern.test(l) && time(l) >= t0 - 1);
        if (line)
          console.log(`${who.padEnd(6)} +${(time(line) - t0).toFixed(1).padStart(7)} ms  ${name}`);
      }
    }
  }
  alice.send('hangup');
  await sleep(1500);
}
await Promise.all([ alice.quit(), bob.quit() ]);
await server.stop();
process.exit(0);
