#!/usr/bin/python3
"""Counts individual test cases of the last `meson test` runs and prints a summary.

Called by tools/test after its meson test runs:

    tools/count-results.py [--meson-rc N] [RUN ...]

where a RUN is BUILD_DIR (a plain `meson test -C BUILD_DIR`) or BUILD_DIR:SETUP (one with
`--setup SETUP`); the default is `build`. Every run's cases add up to one count.

meson counts whole test programs; we want to know how many test cases passed. Reads
BUILD_DIR/meson-logs/testlog.json, or testlog-SETUP.json for a run with a setup (meson 1.0
writes one JSON object per line per test run, with name, result, returncode, stdout, stderr,
command, ...; it does not record the protocol), and takes each test's protocol from
BUILD_DIR/meson-info/intro-tests.json. A run with a setup names its tests `[SETUP] name`.
A run without a log ran no test (meson writes none when no test matched its arguments).

Counting:
- TAP test: each top-level `ok` / `not ok` line of its stdout is one case (indented lines are
  TAP 14 subtests or YAML and are left to their parent line, as meson does).
  `ok ... # SKIP` is skipped. `not ok ... # TODO` passed (an expected failure, per TAP);
  `ok ... # TODO` failed, because meson fails the test for that unexpected pass and we keep
  the counts consistent with meson's verdict. `not ok ... # SKIP` failed (meson: FAIL).
  If meson judged the whole test bad (crash, non-zero exit, bail out, wrong plan, parse error)
  and no case failed, that is one more failure; a timeout or interrupt always is one more, even
  if some cases failed, since the cases it never reached are unaccounted for.
  A TAP test with no case lines counts as one, by meson's result.
- Any other test (exitcode, gtest, rust): one case, by meson's result.
- If meson test itself exited non-zero (--meson-rc) and nothing above failed, that is a failure
  too, so the counts never say "0 failed" while the run failed.

Prints a line per test, the failed cases, and last the plain line
`N passed, N failed, N skipped`. Exits 0 only if nothing failed and at least one case ran.
"""

import argparse
import json
import os
import re
import sys

OK_RESULTS = {"OK", "EXPECTEDFAIL"}
SKIP_RESULTS = {"SKIP"}
KILLED_RESULTS = {"TIMEOUT", "INTERRUPT"}

# A top-level test line: `ok`/`not ok`, optional number, description, optional directive.
TAP_TEST_RE = re.compile(r"^(not ok|ok)(?=\s|$)\s*(\d+)?\s*(.*)$")
# A directive: `# SKIP...` or `# TODO`, case-insensitive, after the description.
TAP_DIRECTIVE_RE = re.compile(r"#\s*(skip\S*|todo)\b\s*(.*)$", re.IGNORECASE)
TAP_PLAN_RE = re.compile(r"^1\.\.\d+")
TAP_BAILOUT_RE = re.compile(r"^Bail out!\s*(.*)$")


class Counts:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    def total(self):
        return self.passed + self.failed + self.skipped

    def line(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def load_protocols(build_dir):
    """Maps a test's command (tuple) and its bare name to its protocol, from meson's intro."""
    by_cmd, by_name = {}, {}
    path = os.path.join(build_dir, "meson-info", "intro-tests.json")
    try:
        with open(path, encoding="utf-8") as f:
            tests = json.load(f)
    except (OSError, ValueError):
        return by_cmd, by_name
    for t in tests:
        proto = t.get("protocol", "exitcode")
        if t.get("cmd"):
            by_cmd[tuple(t["cmd"])] = proto
        by_name.setdefault(t.get("name"), set()).add(proto)
    return by_cmd, by_name


def bare_name(name):
    # With several suites meson logs "project:suite / name"; intro-tests.json has just "name".
    return name.split(" / ", 1)[1] if " / " in name else name


def looks_like_tap(stdout):
    return any(TAP_PLAN_RE.match(l) or l.startswith("TAP version ") for l in stdout.splitlines())


def protocol_of(entry, by_cmd, by_name):
    cmd = entry.get("command")
    if cmd and tuple(cmd) in by_cmd:
        return by_cmd[tuple(cmd)]
    protos = by_name.get(bare_name(entry.get("name", "")), set())
    if len(protos) == 1:
        return next(iter(protos))
    # Unknown (no intro file, or ambiguous name): guess from the output.
    return "tap" if looks_like_tap(entry.get("stdout") or "") else "exitcode"


def count_tap(name, stdout, failures):
    """Counts the case lines of one TAP output; appends failed case names to failures."""
    c = Counts()
    bailout = None
    for raw in stdout.splitlines():
        line = raw.rstrip()
        m = TAP_BAILOUT_RE.match(line)
        if m:
            bailout = m.group(1) or "(no reason given)"
            continue
        m = TAP_TEST_RE.match(line)
        if not m:
            continue
        ok = m.group(1) == "ok"
        number, rest = m.group(2), m.group(3)
        directive = None
        d = TAP_DIRECTIVE_RE.search(rest)
        if d:
            directive = d.group(1).upper()
            rest = rest[: d.start()]
        desc = rest.strip().lstrip("-").strip()
        label = f"{name}: {number + ' ' if number else ''}{desc}".rstrip()
        if directive and directive.startswith("SKIP"):
            if ok:
                c.skipped += 1
            else:
                c.failed += 1
                failures.append(f"{label}  (not ok # SKIP)")
        elif directive == "TODO":
            if ok:
                c.failed += 1
                failures.append(f"{label}  (unexpected pass of a # TODO case)")
            else:
                c.passed += 1
        elif ok:
            c.passed += 1
        else:
            c.failed += 1
            failures.append(label)
    return c, bailout


def exit_text(rc):
    # meson logs a death by signal N as returncode -N.
    return f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"


def count_entry(entry, protocol, failures):
    name = entry.get("name", "?")
    result = entry.get("result", "ERROR")
    rc = entry.get("returncode")
    c = Counts()
    if protocol == "tap":
        c, bailout = count_tap(name, entry.get("stdout") or "", failures)
        if c.total() > 0:
            bad = result not in OK_RESULTS and result not in SKIP_RESULTS
            if result in KILLED_RESULTS or (bad and c.failed == 0):
                why = result
                if bailout:
                    why += f", bailed out: {bailout}"
                elif rc not in (None, 0) and result not in KILLED_RESULTS:
                    why += f", {exit_text(rc)}"
                c.failed += 1
                failures.append(f"{name}  ({why}, after its cases above)")
            return c
    # Non-TAP, or TAP without any case line: one case, by meson's verdict.
    if result in OK_RESULTS:
        c.passed = 1
    elif result in SKIP_RESULTS:
        c.skipped = 1
    else:
        c.failed = 1
        why = result if rc in (None, 0) else f"{result}, {exit_text(rc)}"
        failures.append(f"{name}  ({why})")
    return c


def count_run(run, total, failures, rows):
    """Adds the cases of one run (BUILD_DIR or BUILD_DIR:SETUP) to total, failures and rows."""
    build_dir, _, setup = run.partition(":")
    log_name = f"testlog-{setup}.json" if setup else "testlog.json"
    log_path = os.path.join(build_dir, "meson-logs", log_name)
    by_cmd, by_name = load_protocols(build_dir)
    try:
        with open(log_path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        print(f"count-results: {log_path} not found: meson test ran no test there")
        return

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as e:
            total.failed += 1
            failures.append(f"{log_path}:{lineno}: unreadable log entry ({e})")
            continue
        if setup:
            # The same test runs in both builds: say which run this one was.
            entry["name"] = f"[{setup}] {entry.get('name', '?')}"
        protocol = protocol_of(entry, by_cmd, by_name)
        c = count_entry(entry, protocol, failures)
        total.add(c)
        duration = entry.get("duration")
        dur = f" {duration:.1f}s" if isinstance(duration, (int, float)) else ""
        rows.append((entry.get("name", "?"), f"{entry.get('result', '?')}{dur} [{protocol}]",
                     c.line()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", default=["build"], metavar="RUN",
                    help="BUILD_DIR, or BUILD_DIR:SETUP for a meson test run with --setup")
    ap.add_argument("--meson-rc", type=int, default=0,
                    help="exit status of meson test, to account for a run that failed as a whole")
    args = ap.parse_args()

    total = Counts()
    failures = []
    rows = []
    for run in args.runs:
        count_run(run, total, failures, rows)

    if args.meson_rc != 0 and total.failed == 0:
        total.failed += 1
        failures.append(f"meson test  (exited with status {args.meson_rc}; see its output above)")

    print()
    print("== test results ==")
    if rows:
        width = max(len(r[0]) for r in rows)
        for name, verdict, counts in rows:
            print(f"  {name:<{width}}  {verdict:<24}  {counts}")
    if failures:
        print()
        print("Failed:")
        for f in failures:
            print(f"  {f}")
    if total.total() == 0:
        print()
        print("No test case ran: treating that as a failure (was a --suite or test name wrong?)")
    print()
    print(total.line())
    sys.exit(0 if total.failed == 0 and total.total() > 0 else 1)


if __name__ == "__main__":
    main()
