// The files Chromium's fake capture devices play (--use-file-for-fake-video-capture and
// --use-file-for-fake-audio-capture), made with GStreamer and cached in the temporary folder.
//
// Each identity's picture and tone can be told apart at the far end: alice sends SMPTE bars and
// 440 Hz, bob an orange field with a moving ball and 880 Hz. checks.mjs knows what each looks
// and sounds like.

import {execFile} from 'node:child_process';
import {mkdir, rename, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

const run = promisify(execFile);

export const WIDTH = 320;
export const HEIGHT = 240;
const FPS = 30;
const SECONDS = 4; // Chromium loops both files
const RATE = 48000;

// `pattern` is what checks.mjs recognises in a picture, `frequency` the tone it listens for.
export const IDENTITIES = {
  alice : {pattern : 'smpte', frequency : 440, video : 'pattern=smpte'},
  // 0xffff8000: opaque orange, a colour none of the SMPTE bars has.
  bob : {pattern : 'orange', frequency : 880, video : 'pattern=ball background-color=0xffff8000'},
};

// Version the cache by everything that shapes the files, so a change here never reuses old ones.
const cacheDir = join(tmpdir(), `webrtccall-browser-media-${WIDTH}x${HEIGHT}-${FPS}-${SECONDS}-v1`);

async function exists(path) {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

// gst-launch-1.0 writes to a temporary name that is renamed into place only when complete, so
// concurrent test files never read half a file.
async function make(path, pipeline) {
  if (await exists(path))
    return;
  const partial = `${path}.${process.pid}.partial`;
  const args = [ '-q', ...pipeline.split(' '), '!', 'filesink', `location=${partial}` ];
  try {
    await run('gst-launch-1.0', args, {timeout : 60_000});
  } catch (error) {
    throw new Error(`gst-launch-1.0 ${args.join(' ')} failed: ${error.stderr || error.message}`);
  }
  await rename(partial, path);
}

// Returns { video, audio, pattern, frequency } for alice or bob, making the files if needed.
export async function mediaFor(name) {
  const identity = IDENTITIES[name];
  if (!identity)
    throw new Error(`no fake media for ${name}; known: ${Object.keys(IDENTITIES)}`);
  await mkdir(cacheDir, {recursive : true});
  const video = join(cacheDir, `${name}.y4m`);
  const audio = join(cacheDir, `${name}.wav`);
  // Chromium's y4m reader takes 4:2:0 only.
  await make(
      video,
      `videotestsrc num-buffers=${FPS * SECONDS} ${identity.video} ! ` +
          `video/x-raw,format=I420,width=${WIDTH},height=${HEIGHT},framerate=${FPS}/1 ! y4menc`,
  );
  await make(
      audio,
      `audiotestsrc num-buffers=${(RATE / 480) * SECONDS} samplesperbuffer=480 wave=sine ` +
          `freq=${identity.frequency} volume=0.5 ! ` +
          `audio/x-raw,format=S16LE,rate=${RATE},channels=1 ! wavenc`,
  );
  return {video, audio, pattern : identity.pattern, frequency : identity.frequency};
}
