#!/usr/bin/env python3
"""Runs libFuzzer targets for CI, all at once, as TAP:
  1. for each target, every input in its regressions/ (each once crashed a
     target) runs clean;
  2. the targets then fuzz side by side from their committed seed corpora,
     each until it has had SECONDS of CPU time, each finding nothing.
They all start at once and share the cores; each is stopped (SIGUSR1, on
which libFuzzer ends its run cleanly) once its own CPU time reaches SECONDS,
so the test takes about SECONDS x targets / cores of wall time (three targets
on two cores: 1.5 x SECONDS). One that cannot get its time within three times
SECONDS of wall time (an overloaded machine) ends there, and its case fails.
A crash leaves its input in the target's work folder; the TAP output names it
and says where to commit it so that it becomes a regression test. Each
fuzzer's whole output is kept in WORK_DIR/fuzz.log.

usage: run-fuzzer.py SECONDS FUZZER SEED_DIR REGRESSION_DIR WORK_DIR
                             [FUZZER SEED_DIR REGRESSION_DIR WORK_DIR ...]"""

import os
import shutil
import signal
import subprocess
import sys
import time

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def report(number, ok, name, detail=""):
    print("%s %d %s" % ("ok" if ok else "not ok", number, name))
    for line in detail.splitlines():
        print("# " + line)
    sys.stdout.flush()


class Target:
    def __init__(self, fuzzer, seeds, regressions, work):
        self.fuzzer, self.seeds, self.regressions, self.work = fuzzer, seeds, regressions, work
        self.name = os.path.basename(fuzzer)
        self.log_name = os.path.join(work, "fuzz.log")
        self.process = None

    def replay(self, number):
        """Case `number`: the past crashes run clean. Returns whether they did."""
        cases = sorted(os.path.join(self.regressions, f) for f in os.listdir(self.regressions)
                       if not f.startswith(".")) if os.path.isdir(self.regressions) else []
        if not cases:
            report(number, True, "%s has no past crashes to replay" % self.name)
            return True
        replay = subprocess.run([self.fuzzer, "-runs=0"] + cases, capture_output=True, text=True)
        ok = replay.returncode == 0
        report(number, ok, "%s replays %d past crashes clean" % (self.name, len(cases)),
               "" if ok else tail(replay.stderr))
        return ok

    def start(self, seconds):
        # The work corpus comes first: new inputs go there, never into the source tree.
        with open(self.log_name, "w") as log:
            self.process = subprocess.Popen(
                [self.fuzzer, "-max_total_time=%d" % (3 * seconds), "-timeout=10",
                 "-rss_limit_mb=2048", "-print_final_stats=1", "-artifact_prefix=" + self.work + "/",
                 os.path.join(self.work, "corpus"), self.seeds],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.stopped = False

    def cpu_seconds(self):
        """The running fuzzer's CPU time so far (user + system, every thread)."""
        with open("/proc/%d/stat" % self.process.pid) as stat:
            # After the command's name in parentheses: utime is field 14, stime 15.
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND

    def stop_at(self, seconds):
        """Asks the fuzzer to end once it has had `seconds` of CPU. True while it runs."""
        # Asked without reaping it: finish() collects its status and CPU time.
        if os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            return False
        if not self.stopped and self.cpu_seconds() >= seconds:
            # os.kill, not Popen.send_signal, which polls first and could reap a fuzzer that
            # just ended, losing its status. Unreaped, its pid cannot have been reused.
            os.kill(self.process.pid, signal.SIGUSR1)
            self.stopped = True
        return True

    def finish(self, number, seconds):
        """Case `number`: the run found nothing, in its whole CPU time. Returns whether."""
        # wait4 rather than wait: the fuzzer's own CPU time, as the kernel counted it.
        _, wait_status, usage = os.wait4(self.process.pid, 0)
        status = self.process.returncode = os.waitstatus_to_exitcode(wait_status)
        cpu_seconds = usage.ru_utime + usage.ru_stime
        with open(self.log_name, errors="replace") as log:
            output = log.read()
        crashed = status != 0
        short = not crashed and cpu_seconds < seconds
        runs = [line for line in output.splitlines()
                if line.startswith("stat::number_of_executed_units")]
        summary = runs[0].split(":")[-1].strip() if runs else "?"
        detail = ""
        if crashed:
            artifacts = [f for f in os.listdir(self.work)
                         if f.startswith(("crash-", "leak-", "timeout-", "oom-"))]
            inputs = [os.path.join(self.work, a) for a in artifacts]
            detail = (tail(output) + "\nexit status %d" % status +
                      "\nthe whole output: %s" % self.log_name +
                      "\nthe input: %s" % (", ".join(inputs) or "(none saved)") +
                      ("\nrun it again: %s %s" % (self.fuzzer, inputs[0]) if inputs else "") +
                      "\ncommit it as tests/fuzz/regressions/%s/<name> once fixed"
                      % self.name.replace("fuzz-", ""))
        elif short:
            detail = ("it had %.0f s of CPU in %d s of wall time: the machine was too busy"
                      % (cpu_seconds, 3 * seconds))
        report(number, not crashed and not short,
               "%s fuzzes for %.0f s of CPU (%s inputs) without a crash"
               % (self.name, cpu_seconds, summary), detail)
        return not crashed and not short


def main():
    seconds, rest = int(sys.argv[1]), sys.argv[2:]
    if not rest or len(rest) % 4:
        sys.exit(__doc__)
    targets = [Target(*rest[i:i + 4]) for i in range(0, len(rest), 4)]
    for target in targets:
        shutil.rmtree(target.work, ignore_errors=True)
        os.makedirs(os.path.join(target.work, "corpus"))
    print("1..%d" % (2 * len(targets)))

    # The replays take milliseconds; then every fuzzer starts at once, and each is stopped
    # when it has had its time.
    ok = [target.replay(number) for number, target in enumerate(targets, 1)]
    for target in targets:
        target.start(seconds)
    while any([target.stop_at(seconds) for target in targets]):
        time.sleep(0.2)
    ok += [target.finish(number, seconds)
           for number, target in enumerate(targets, len(targets) + 1)]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
