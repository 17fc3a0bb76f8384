// Where the benchmarks find the build and the tutorial's server.
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// tools/bench/run builds into build-bench/ and sets this.
export const buildDir = process.env.WEBRTCCALL_BENCH_BUILD || join(repoRoot, 'build-bench');
export const tutorialServer =
    process.env.TUTORIAL_SERVER_JS || resolve(repoRoot, '..', 'shared', 'seed', 'server.js');
