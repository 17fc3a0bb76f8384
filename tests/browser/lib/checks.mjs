// What a page receives, measured inside the page: the picture's pattern, frames advancing, the
// tone's frequency. Every wait has a deadline and fails naming what it awaited and what it saw.

import {pageLog} from './browser.mjs';
import {IDENTITIES} from './media.mjs';

// Runs in the page: the pattern of the picture a <video> shows now, from averaged patches of a
// canvas copy. 'smpte': alice's seven bars across the top two thirds; 'orange': bob's field
// (a moving ball covers a few of the 25 grid points at most); 'none': no picture yet; else
// 'other'. Colours are loose: the picture went through VP8 (or another codec) and back.
function classifyInPage(selector) {
  const video = document.querySelector(selector);
  if (!video)
    return {pattern : 'none', why : `no ${selector}`};
  if (!video.videoWidth || !video.videoHeight) {
    const stream = video.srcObject;
    const tracks =
        stream?.getTracks?.().map((t) => `${t.kind}:${t.readyState}${t.muted ? ':muted' : ''}`);
    return {pattern : 'none', why : 'no picture', tracks : tracks ?? String(stream)};
  }
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext('2d', {willReadFrequently : true});
  g.drawImage(video, 0, 0);
  const patch = Math.max(1, Math.floor(canvas.width / 40));
  const colour = (fx, fy) => {
    const x = Math.min(canvas.width - patch, Math.floor(fx * canvas.width));
    const y = Math.min(canvas.height - patch, Math.floor(fy * canvas.height));
    const data = g.getImageData(x, y, patch, patch).data;
    const sum = [ 0, 0, 0 ];
    for (let i = 0; i < data.length; i += 4)
      for (let c = 0; c < 3; c++)
        sum[c] += data[i + c];
    return sum.map((s) => Math.round(s / (data.length / 4)));
  };
  const near = (p, q) => p.every((v, i) => Math.abs(v - q[i]) <= 70);
  const bars = [
    [ 255, 255, 255 ],
    [ 255, 255, 0 ],
    [ 0, 255, 255 ],
    [ 0, 255, 0 ],
    [ 255, 0, 255 ],
    [ 255, 0, 0 ],
    [ 0, 0, 255 ],
  ];
  const barSamples = bars.map((_, i) => colour((i + 0.5) / 7, 0.3));
  if (barSamples.every((p, i) => near(p, bars[i]))) {
    return {pattern : 'smpte', size : `${canvas.width}x${canvas.height}`};
  }
  const grid = [];
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++)
      grid.push(colour((i + 0.5) / 5, (j + 0.5) / 5));
  const orange = grid.filter((p) => near(p, [ 255, 128, 0 ])).length;
  if (orange >= 18)
    return {pattern : 'orange', size : `${canvas.width}x${canvas.height}`};
  return {
    pattern : 'other',
    size : `${canvas.width}x${canvas.height}`,
    bars : barSamples.map((p) => p.join(',')).join(' '),
    orangeGridPoints : orange,
  };
}

// Evaluates `expression` (source text, so the page's own CSP never applies to it) until it
// returns { done: true, ... } or the deadline passes. This one polls because pictures and frame
// counters fire no event to await.
async function pollPage(page, label, what, expression, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await page.evaluate(expression);
    if (last.done)
      return last;
    if (Date.now() > deadline)
      break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
      `${label}: no ${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}\n` +
          pageLog(page),
  );
}

// Waits until the <video> shows `pattern` ('smpte' or 'orange', see media.mjs).
export async function waitPicture(page, label, selector, pattern, timeoutMs = 15_000) {
  const expression = `(() => {
    const result = (${classifyInPage})(${JSON.stringify(selector)});
    return { ...result, done: result.pattern === ${JSON.stringify(pattern)} };
  })()`;
  return pollPage(page, label, `${pattern} picture in ${selector}`, expression, timeoutMs);
}

// Runs in the page: the <video>'s decoded-frame count and clock.
function progressInPage(selector) {
  const video = document.querySelector(selector);
  if (!video)
    return {frames : -1, time : -1};
  return {
    frames : video.getVideoPlaybackQuality().totalVideoFrames,
    time : video.currentTime,
    paused : video.paused,
  };
}

// Waits until the <video> has shown `frames` more frames and moved its clock on.
export async function waitAdvancing(page, label, selector, frames = 15, timeoutMs = 15_000) {
  const start = await page.evaluate(progressInPage, selector);
  const expression = `(() => {
    const now = (${progressInPage})(${JSON.stringify(selector)});
    return { ...now, done: now.frames >= ${start.frames + frames} && now.time > ${start.time} };
  })()`;
  const what = `${frames} new frames in ${selector} (from ${JSON.stringify(start)})`;
  return pollPage(page, label, what, expression, timeoutMs);
}

// Runs in the page: listens to the <video>'s stream through an AnalyserNode until it hears a
// tone within 5 % of `frequency` louder than -50 dBFS, or the deadline passes.
async function listenInPage({selector, frequency, timeoutMs}) {
  const video = document.querySelector(selector);
  const stream = video && video.srcObject;
  if (!stream || !stream.getAudioTracks || stream.getAudioTracks().length === 0) {
    return {heard : false, why : `${selector}.srcObject has no audio track`};
  }
  const context = new AudioContext();
  // resume() waits for a user activation; the page has one from the test's clicks.
  await Promise.race([ context.resume(), new Promise((r) => setTimeout(r, 2000)) ]);
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const binHz = context.sampleRate / analyser.fftSize;
  const deadline = performance.now() + timeoutMs;
  let last = {};
  try {
    while (performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      analyser.getFloatTimeDomainData(samples);
      analyser.getFloatFrequencyData(spectrum);
      let sum = 0;
      for (const s of samples)
        sum += s * s;
      const dbfs = 10 * Math.log10(sum / samples.length + 1e-12);
      let peak = 0;
      for (let i = 1; i < spectrum.length; i++)
        if (spectrum[i] > spectrum[peak])
          peak = i;
      last = {dbfs : Math.round(dbfs), peakHz : Math.round(peak * binHz), context : context.state};
      if (dbfs > -50 && Math.abs(peak * binHz - frequency) < frequency * 0.05) {
        return {heard : true, ...last};
      }
    }
    return {heard : false, why : 'no such tone', ...last};
  } finally {
    context.close();
  }
}

// Waits until the <video>'s audio carries a tone of `frequency` Hz.
export async function waitTone(page, label, selector, frequency, timeoutMs = 10_000) {
  const result = await page.evaluate(listenInPage, {selector, frequency, timeoutMs});
  if (!result.heard) {
    throw new Error(
        `${label}: no ${frequency} Hz tone in ${selector} within ${timeoutMs} ms: ` +
            `${JSON.stringify(result)}\n${pageLog(page)}`,
    );
  }
  return result;
}

// Waits until the page's #remoteVideo shows `identity`'s picture (media.mjs), advancing, and
// (unless audio is false) plays its tone.
export async function expectMediaFrom(page, label, identity, {audio = true} = {}) {
  const {pattern, frequency} = IDENTITIES[identity];
  await waitPicture(page, label, '#remoteVideo', pattern);
  await waitAdvancing(page, label, '#remoteVideo');
  if (audio)
    await waitTone(page, label, '#remoteVideo', frequency);
}
