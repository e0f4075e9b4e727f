# -*- test-case-name: tests.test_benchmarks -*-
"""
Tests for the benchmarks without running the slow ones: L{benchmarks.report}
(figures and targets), L{benchmarks.run} (the runner of C{make bench}, on
stand-in benchmark processes), the options every benchmark shares, and
L{benchmarks.codec} (its sample messages are what they claim to be, and a
very short run records its figures).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
from typing import Any

from twisted.internet import defer
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from benchmarks import codec, report, run
from pocketrelay.blaze import frames, tdf


class SampleTests(SynchronousTestCase):
    """
    The benchmarked messages.
    """

    def test_roundTrip(self) -> None:
        """
        Every sample encodes, decodes to an equal value, and re-encodes to
        the same bytes along the declared and the generic paths.
        """
        for name, cls, message in codec.samples():
            body = tdf.encode(message)
            self.assertEqual(tdf.decode(cls, body), message, name)
            self.assertEqual(tdf.encodeStruct(tdf.decodeStruct(body)), body, name)

    def test_gameSetup(self) -> None:
        """
        The game setup has four players, the host first, ten attributes and
        the host address in the heat-bug list form.
        """
        message = codec.notifyGameSetup()
        self.assertEqual(len(message.players), 4)
        self.assertEqual(
            message.players[0].playerId, message.game.platformHost.playerId
        )
        self.assertEqual(len(message.game.attributes), 10)
        self.assertEqual([c.index for c in message.game.hostNetwork], [2])
        body = tdf.encode(message)
        generic = tdf.decodeStruct(body)["GAME"]["HNET"]
        self.assertEqual(generic.elementType, tdf.TdfType.STRUCT)

    def test_userSettingsSize(self) -> None:
        """
        The settings reply carries about 40 KB in the expected keys.
        """
        message = codec.userSettings()
        self.assertTrue(38_000 < len(tdf.encode(message)) < 44_000)
        keys = set(message.settings)
        self.assertTrue({"Base", "class1", "class6", "char0", "char30"} <= keys)
        self.assertTrue(message.settings["Completion"].startswith("22,"))

    def test_chunkedConfig(self) -> None:
        """
        The configuration reply's chunks join and decode back to a blob of
        L{codec.CONFIG_BLOB_SIZE} bytes, and its size entries are right.
        """
        config = codec.chunkedConfig().config
        count = len(config) - 2
        joined = "".join(config[f"CHUNK_{i}"] for i in range(count))
        self.assertEqual(config["CHUNK_SIZE"], "255")
        self.assertEqual(config["DATA_SIZE"], str(len(joined)))
        self.assertTrue(all(len(config[f"CHUNK_{i}"]) == 255 for i in range(count - 1)))
        self.assertEqual(len(base64.b64decode(joined)), codec.CONFIG_BLOB_SIZE)

    def test_samplesAreDeterministic(self) -> None:
        """
        Building the samples twice gives the same bytes.
        """
        first = [tdf.encode(m) for _, _, m in codec.samples()]
        second = [tdf.encode(m) for _, _, m in codec.samples()]
        self.assertEqual(first, second)

    def test_plainContent(self) -> None:
        """
        The json yardstick holds the same content as plain values.
        """
        plain = codec.toPlain(codec.notifyGameSetup())
        self.assertEqual(json.loads(json.dumps(plain)), plain)
        self.assertEqual(plain["players"][0]["network"]["index"], 2)
        self.assertEqual(plain["players"][0]["userGroupId"], [0, 0, 0])

    def test_smallFrames(self) -> None:
        """
        The small-frame stream is 1000 frames.
        """
        decoded = frames.FrameDecoder().feed(codec.smallFrameStream())
        self.assertEqual(len(decoded), 1000)


class RunTests(SynchronousTestCase):
    """
    Running the benchmark.
    """

    def test_measure(self) -> None:
        """
        L{codec.measure} returns the time of one call, a positive number.
        """
        calls = []
        seconds = codec.measure(lambda: calls.append(1), 0.001, repeat=3)
        self.assertGreater(seconds, 0)
        self.assertGreater(len(calls), 3)

    def test_main(self) -> None:
        """
        A short run prints the table, records the ratio of each message
        with its target and the frame decoder's rates, and returns the
        exit code of what it recorded.
        """
        results = FilePath(self.mktemp())
        setEnvironment(self, report.RESULTS_ENV, results.path)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = codec.main(["--seconds", "0.002"])
        text = out.getvalue()
        for name, _, _ in codec.samples():
            self.assertIn(name, text)
        self.assertIn("json dumps+loads", text)
        figures = report.readResults(results.path)
        self.assertEqual(status, report.exitCode(figures))
        ratios = [f for f in figures if f.unit == "x"]
        self.assertEqual(len(ratios), 3)
        self.assertEqual({f.target for f in ratios}, {"<= 5"})
        self.assertEqual(len([f for f in figures if f.name.startswith("FrameDecoder")]), 2)
        self.assertEqual({f.benchmark for f in figures}, {"codec"})


def setEnvironment(case: SynchronousTestCase, name: str, value: str | None) -> None:
    """
    Set (or with L{None} remove) an environment variable for one test.
    """
    previous = os.environ.get(name)

    def restore() -> None:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous

    case.addCleanup(restore)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def quietly(f: Any, *args: Any, **kwargs: Any) -> Any:
    """
    Call C{f} with its printing swallowed.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        return f(*args, **kwargs)


class ReportTests(SynchronousTestCase):
    """
    L{report.record}, L{report.readResults} and L{report.exitCode}.
    """

    def setUp(self) -> None:
        self.results = FilePath(self.mktemp())
        setEnvironment(self, report.RESULTS_ENV, self.results.path)

    def test_targets(self) -> None:
        """
        C{atMost} and C{atLeast} are inclusive bounds; a figure without
        one is informational (C{ok} is L{None}).
        """
        record = report.record
        self.assertIs(quietly(record, "b", "n", 5, "ms", atMost=5).ok, True)
        self.assertIs(quietly(record, "b", "n", 5.01, "ms", atMost=5).ok, False)
        self.assertIs(quietly(record, "b", "n", 2, "x", atLeast=2).ok, True)
        self.assertIs(quietly(record, "b", "n", 1.9, "x", atLeast=2).ok, False)
        both = quietly(record, "b", "n", 11, "x", atMost=10, atLeast=1)
        self.assertEqual((both.target, both.ok), ("<= 10, >= 1", False))
        info = quietly(record, "b", "n", 3, "s")
        self.assertEqual((info.target, info.ok, info.verdict), ("", None, ""))

    def test_resultsFile(self) -> None:
        """
        Every recorded figure is appended to the results file named by the
        environment and read back equal.
        """
        first = quietly(report.record, "b", "one", 1.5, "ms", atMost=2)
        second = quietly(report.record, "b", "two", 3, "/s")
        self.assertEqual(report.readResults(self.results.path), [first, second])

    def test_noResultsFile(self) -> None:
        """
        Without the variable, figures are printed and nothing is written.
        """
        setEnvironment(self, report.RESULTS_ENV, None)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            report.record("b", "alone", 7, "ms", atMost=1)
        self.assertIn("MISSED", out.getvalue())
        self.assertFalse(self.results.exists())

    def test_exitCode(self) -> None:
        """
        1 when any figure missed its target; informational figures and
        met targets give 0.
        """
        ok = report.Figure("b", "n", 1, "ms", "<= 2", True)
        info = report.Figure("b", "n", 1, "ms")
        missed = report.Figure("b", "n", 3, "ms", "<= 2", False)
        self.assertEqual(report.exitCode([ok, info]), 0)
        self.assertEqual(report.exitCode([ok, missed, info]), 1)
        self.assertEqual(report.exitCode([]), 0)

    def test_line(self) -> None:
        """
        A figure's line has its value for people, its target and verdict.
        """
        line = report.Figure("codec", "ratio", 2.5431, "x", "<= 5", True).line()
        self.assertIn("2.54", line)
        self.assertIn("(target <= 5 x) ok", line)
        self.assertTrue(report.Figure("b", "n", 3, "", "<= 0", False).line().endswith(
            "(target <= 0) MISSED"))

    def test_formatValue(self) -> None:
        """
        Large values get thousands separators and no exponent, small ones
        three significant digits, whole numbers no decimals.
        """
        cases = {300347.2: "300,347", 2811.2: "2,811", 233.94: "233.9", 14.0: "14",
                 2.5431: "2.54", 0.01234: "0.0123", 0.0: "0", float("nan"): "nan"}
        for value, text in cases.items():
            self.assertEqual(report.formatValue(value), text, value)

    def test_runReactorSuccess(self) -> None:
        """
        L{report.runReactor} runs the reactor, stops it once the work has
        fired and answers L{True} when the work succeeded.
        """
        reactor = _FakeReactor()
        d: defer.Deferred[Any] = defer.Deferred()
        reactor.whenRun = lambda: d.callback(None)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertTrue(report.runReactor(reactor, d))
        self.assertEqual(reactor.calls, ["run", "stop"])
        self.assertEqual(out.getvalue(), "")

    def test_runReactorFailure(self) -> None:
        """
        When the work fails, L{report.runReactor} prints its traceback and
        answers L{False}; with C{crash=True} it crashes the reactor rather
        than stopping it.
        """
        reactor = _FakeReactor()
        d: defer.Deferred[Any] = defer.Deferred()
        reactor.whenRun = lambda: d.errback(ValueError("benchmark broke"))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertFalse(report.runReactor(reactor, d, crash=True))
        self.assertEqual(reactor.calls, ["run", "crash"])
        self.assertIn("ValueError: benchmark broke", out.getvalue())


class _FakeReactor:
    """
    The parts of a reactor that L{report.runReactor} uses, recording the
    calls; C{whenRun} is called by C{run} (the work firing).
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.whenRun: Any = None

    def run(self) -> None:
        self.calls.append("run")
        self.whenRun()

    def stop(self) -> None:
        self.calls.append("stop")

    def crash(self) -> None:
        self.calls.append("crash")


def standIn(figures: list[tuple[str, float, float | None]], status: int = 0,
            sleep: float = 0) -> list[str]:
    """
    A command that, like a benchmark, records C{figures} (name, value,
    atMost) with L{report.record} and exits with C{status}.
    """
    code = "\n".join([
        "import sys, time",
        "from benchmarks import report",
        f"time.sleep({sleep!r})",
        *(f"report.record('fake', {name!r}, {value!r}, 'ms', atMost={atMost!r})"
          for name, value, atMost in figures),
        f"sys.exit({status})",
    ])
    return [sys.executable, "-c", code]


def runStandIn(arguments: list[str], timeout: float, command: list[str]) -> run.Outcome:
    """
    L{run.runOne} on a stand-in command, its output discarded.
    """
    return quietly(run.runOne, "fake", arguments, timeout, command, quiet=True)


def outcome(name: str, status: int | None, *oks: bool | None) -> run.Outcome:
    """
    An outcome with one figure per C{oks} entry.
    """
    figures = tuple(report.Figure(name, f"f{i}", i, "ms", "<= 1" if ok is not None else "", ok)
                    for i, ok in enumerate(oks))
    return run.Outcome(name, status, 1.0, figures)


class RunnerTests(SynchronousTestCase):
    """
    L{run}, the runner of C{make bench}, on stand-in benchmarks.
    """

    def test_runOne(self) -> None:
        """
        A benchmark process gets a results file through the environment;
        its figures and exit status make the outcome.
        """
        result = runStandIn([], 60,
                         standIn([("a", 1.0, 2.0), ("b", 3.0, None)]))
        self.assertEqual(result.status, 0)
        self.assertEqual([(f.name, f.ok) for f in result.figures],
                         [("a", True), ("b", None)])
        self.assertEqual(result.verdict, "ok")

    def test_missed(self) -> None:
        """
        A benchmark that missed a target (and so exits 1) is C{MISSED}.
        """
        result = runStandIn([], 60,
                         standIn([("a", 3.0, 2.0)], status=1))
        self.assertEqual((result.verdict, result.problem), ("MISSED", ""))
        self.assertEqual(run.exitStatus([result]), 1)

    def test_arguments(self) -> None:
        """
        The runner's arguments (C{--full}) reach the benchmark.
        """
        command = [sys.executable, "-c",
                   "import sys\nfrom benchmarks import report\n"
                   "report.record('fake', ' '.join(sys.argv[1:]), 1, 'ms')"]
        result = runStandIn(["--full"], 60,
                         command)
        self.assertEqual(result.figures[0].name, "--full")

    def test_failures(self) -> None:
        """
        A benchmark that crashes, exits non-zero with every target met,
        records nothing, or runs past the timeout is C{FAILED} and fails
        the run.
        """
        crashed = runStandIn([], 60,
                         [sys.executable, "-c", "raise SystemExit(3)"])
        self.assertEqual(crashed.problem, "recorded no figure (exit status 3)")
        quiet = runStandIn([], 60,
                         standIn([]))
        self.assertEqual(quiet.problem, "recorded no figure (exit status 0)")
        odd = runStandIn([], 60,
                         standIn([("a", 1.0, 2.0)], status=1))
        self.assertEqual(odd.problem, "exit status 1 with every target met")
        slow = runStandIn([], 0.5,
                         standIn([], sleep=30))
        self.assertEqual((slow.status, slow.problem), (None, "timed out"))
        for result in (crashed, quiet, odd, slow):
            self.assertEqual(result.verdict, "FAILED")
            self.assertEqual(run.exitStatus([outcome("good", 0, True), result]), 1)

    def test_exitStatus(self) -> None:
        """
        The run passes only when every benchmark is C{ok}.
        """
        self.assertEqual(run.exitStatus([outcome("a", 0, True, None), outcome("b", 0, None)]), 0)
        self.assertEqual(run.exitStatus([outcome("a", 0, True), outcome("b", 1, False)]), 1)

    def test_table(self) -> None:
        """
        The table has a row per figure, a row per failure and a verdict
        line per benchmark.
        """
        text = run.table([outcome("a", 0, True, None), outcome("b", 2, None)])
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("benchmark"))
        self.assertEqual(len([line for line in lines if line.startswith("a ")]), 3)
        self.assertIn("exit status 2 with every target met", text)
        self.assertRegex(text, r"(?m)^b +FAILED")

    def test_markdown(self) -> None:
        """
        The page says it is generated and by which command, names the
        machine, the date and the commit, and has the table.
        """
        page = run.markdown([outcome("a", 0, True), outcome("b", 1, False)], False,
                            "CPU X, 2 cores", "2026-12-06 22:00 UTC", "abc1234", "1.5")
        self.assertTrue(page.startswith("<!-- Generated by benchmarks/run.py"))
        self.assertIn(run.WRITE_COMMAND, page)
        self.assertIn("* Machine: CPU X, 2 cores", page)
        self.assertIn("* Date: 2026-12-06 22:00 UTC; load average when the run started: 1.5",
                      page)
        self.assertIn("* Commit: abc1234", page)
        self.assertIn("short form", page)
        self.assertIn("| a | f0 | 0 | ms | <= 1 | ok |", page)
        self.assertIn("| b | f0 | 0 | ms | <= 1 | MISSED |", page)

    def test_markdownEscapes(self) -> None:
        """
        A C{|} in a figure's name does not break the table.
        """
        odd = run.Outcome("a", 0, 1.0, (report.Figure("a", "x | y", 1, "ms"),))
        page = run.markdown([odd], True, "m", "d", "c")
        self.assertIn("| a | x \\| y | 1 | ms |  |  |", page)
        self.assertIn("long form", page)

    def test_machineAndCommit(self) -> None:
        """
        The machine line names the cores; the commit is a hash, perhaps
        marked dirty.
        """
        self.assertIn(f"{os.cpu_count()} cores", run.machine())
        self.assertRegex(run.commit(), r"^([0-9a-f]{4,}(-dirty)?|unknown)$")
        self.assertRegex(run.loadAverage(), r"^(\d+\.\d|unknown)$")

    def test_names(self) -> None:
        """
        Every benchmark of the list exists, and every benchmark module
        (one with a C{main} that returns L{report.exitCode}) is in the
        list, except the soak, which is C{make soak}.
        """
        for name in run.BENCHMARKS:
            self.assertTrue(run.exists(name), name)
        here = FilePath(run.__file__).parent()
        modules = {
            child.basename()[:-3]
            for child in here.globChildren("*.py")
            if b"report.exitCode(" in child.getContent()
        } - {"report", "run", "soak"}
        self.assertEqual(modules, set(run.BENCHMARKS))

    def test_main(self) -> None:
        """
        C{main} runs every benchmark with C{--full} passed on, prints the
        table, writes the page and returns the verdict.
        """
        calls: list[tuple[str, list[str]]] = []

        def runOne(name: str, arguments: list[str], timeout: float) -> run.Outcome:
            calls.append((name, list(arguments)))
            return outcome(name, 0, True)

        self.patch(run, "runOne", runOne)
        page = FilePath(self.mktemp())
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = run.main(["--full", "--write", page.path])
        self.assertEqual(status, 0)
        self.assertEqual(calls, [(name, ["--full"]) for name in run.BENCHMARKS])
        self.assertIn("benchmark", out.getvalue())
        self.assertIn(b"# Performance", page.getContent())

    def test_mainFails(self) -> None:
        """
        C{main} returns 1 when a benchmark missed a target.
        """
        self.patch(run, "runOne", lambda name, arguments, timeout: outcome(name, 1, False))
        self.assertEqual(quietly(run.main, ["codec"]), 1)

    def test_mainRefuses(self) -> None:
        """
        An unknown benchmark, or C{--write} with a subset, is a usage
        error.
        """
        for argv in (["nosuchbenchmark"], ["--write", "x.md", "codec"]):
            with contextlib.redirect_stderr(io.StringIO()):
                error = self.assertRaises(SystemExit, run.main, argv)
            self.assertEqual(error.code, 2)


class OptionsTests(SynchronousTestCase):
    """
    Every benchmark has a short default form and C{--full}.
    """

    def test_full(self) -> None:
        """
        Each benchmark of the runner's list documents C{--full} in its
        C{--help}.
        """
        import importlib

        for name in run.BENCHMARKS:
            module = importlib.import_module(f"benchmarks.{name}")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                error = self.assertRaises(SystemExit, module.main, ["--help"])
            self.assertEqual(error.code, 0, name)
            self.assertIn("--full", out.getvalue(), name)


class FlooderTests(SynchronousTestCase):
    """
    L{benchmarks.flood.Flooder}: the flooding session of the flood
    benchmark.
    """

    def test_writesUntilPausedAndCountsReplies(self) -> None:
        """
        Started, it writes whole ping requests until the transport pauses
        it, and counts the reply frames it receives.
        """
        from twisted.internet.testing import StringTransport

        from benchmarks import flood

        flooder = flood.Flooder()
        transport = StringTransport()

        class _Pausing(StringTransport):
            def write(self, data: bytes) -> None:
                transport.write(data)
                flooder.pauseProducing()

        wire = _Pausing()
        flooder.makeConnection(wire)
        self.assertIs(wire.producer, flooder)
        flooder.start()
        written = frames.FrameDecoder().feed(transport.value())
        self.assertEqual(len(written), 1000)
        self.assertEqual({(f.component, f.command, f.type) for f in written},
                         {(9, 2, frames.MessageType.REQUEST)})
        reply = frames.Frame(9, 2, frames.MessageType.REPLY, 1).encode()
        flooder.dataReceived(reply * 3 + reply[:5])
        self.assertEqual(flooder.received, 3)


class ServerEnvironmentTests(SynchronousTestCase):
    """
    L{sessions.serverEnvironment}: the environment of every benchmark's
    server (L{sessions.startServer}).
    """

    def test_noPocketRelayVariables(self) -> None:
        """
        No C{POCKETRELAY_*} variable reaches the server (it would take it
        as a setting and refuse the runner's results file); others do, and
        the checkout comes first on C{PYTHONPATH}, after the given paths.
        """
        from benchmarks import sessions

        setEnvironment(self, report.RESULTS_ENV, "/tmp/results.jsonl")
        setEnvironment(self, "POCKETRELAY_LOG_LEVEL", "debug")
        setEnvironment(self, "BENCH_UNRELATED", "kept")
        setEnvironment(self, "PYTHONPATH", "/elsewhere")
        env = sessions.serverEnvironment(["/first"])
        self.assertTrue(report.RESULTS_ENV.startswith("POCKETRELAY_"))
        self.assertEqual([k for k in env if k.startswith("POCKETRELAY_")], [])
        self.assertEqual(env["BENCH_UNRELATED"], "kept")
        self.assertEqual(env["PYTHONPATH"].split(os.pathsep),
                         ["/first", sessions.ROOT, "/elsewhere"])

    def test_percentile(self) -> None:
        """
        L{sessions.percentile} picks the nearest-rank value; none of an
        empty list is NaN.
        """
        from benchmarks import sessions

        values = [float(n) for n in range(1, 101)]
        self.assertEqual(sessions.percentile(values, 0.5), 51.0)
        self.assertEqual(sessions.percentile(values, 0.99), 99.0)
        self.assertNotEqual(sessions.percentile([], 0.99), sessions.percentile([], 0.99))



class AppIdleTests(SynchronousTestCase):
    """
    The pure parts of L{benchmarks.appidle}: reading C{/proc/PID/stat},
    adding up a process tree, and the percentage.
    """

    #: A real line's shape: a command name with a space and parentheses;
    #: utime 7, stime 3, cutime 2, cstime 1; parent 100.
    LINE = ("4242 (python (app) x) S 100 4242 100 0 -1 4194304 1000 0 0 0 "
            "7 3 2 1 20 0 3 0 12345 100000 2000 18446744073709551615\n")

    def test_parseStat(self) -> None:
        """
        The pid, the parent, the process's own user + system ticks and
        those of its waited-for children are read, counting the fields
        after the last C{")"} so a command name with spaces and
        parentheses does not shift them.
        """
        from benchmarks import appidle

        self.assertEqual(appidle.parseStat(self.LINE), appidle.ProcessTimes(4242, 100, 10, 3))

    def test_parseStatGarbage(self) -> None:
        """
        A line that is not a C{/proc/PID/stat} line is a L{ValueError}
        saying what is wrong, with the offset of a bad field.
        """
        from benchmarks import appidle

        for text, message in [
            ("", "no ')'"),
            ("x (python) S 1", "no process id at offset 0"),
            ("4242 (python) S 100 4242", "5 fields, at least 17 needed"),
            (self.LINE.replace(" 7 3 2 1 ", " 7 x 2 1 "), "field 15 at offset 63 is not a number"),
        ]:
            error = self.assertRaises(ValueError, appidle.parseStat, text)
            self.assertIn(message, str(error))

    def test_treeTicks(self) -> None:
        """
        A tree's ticks are its root's own and waited-for children's, plus
        those of its live descendants at any depth; other processes are
        not counted, and a root that is not running is an error.
        """
        from benchmarks.appidle import ProcessTimes, treeTicks

        processes = [
            ProcessTimes(10, 1, 100, 5),
            ProcessTimes(11, 10, 20, 0),
            ProcessTimes(12, 11, 3, 1),
            ProcessTimes(13, 1, 1000, 0),
        ]
        self.assertEqual(treeTicks(10, processes), 129)
        self.assertEqual(treeTicks(11, processes), 24)
        self.assertRaises(ValueError, treeTicks, 99, processes)

    def test_percentOfCore(self) -> None:
        """
        Ticks over an interval are a percentage of one core at the clock
        tick rate; an empty interval is refused.
        """
        from benchmarks.appidle import percentOfCore

        self.assertAlmostEqual(percentOfCore(4, 20.0, 100), 0.2)
        self.assertAlmostEqual(percentOfCore(200, 2.0, 100), 100.0)
        self.assertRaises(ValueError, percentOfCore, 1, 0.0, 100)

    def test_measure(self) -> None:
        """
        C{measure} takes the difference of the tree's ticks between two
        samples over the interval.
        """
        from benchmarks import appidle

        samples = iter([[appidle.ProcessTimes(10, 1, 100, 0)],
                        [appidle.ProcessTimes(10, 1, 103, 0),
                         appidle.ProcessTimes(11, 10, 1, 0)]])
        times = iter([5.0, 25.0])
        slept: list[float] = []
        percent = appidle.measure(10, 20.0, lambda: next(samples), slept.append,
                                  lambda: next(times), 100)
        self.assertEqual(slept, [20.0])
        self.assertAlmostEqual(percent, 0.2)

    def test_appCommand(self) -> None:
        """
        The app runs with its window, the given data directory and hosts
        file and system-chosen local ports; with a server it connects at
        once.
        """
        from benchmarks.appidle import appCommand

        idle = appCommand("/d", "/h", None)
        self.assertEqual(idle[1:], ["-m", "pocketrelay.client.app", "--data-dir", "/d",
                                    "--hosts-file", "/h", "--ports", "0,0,0,0,0,0"])
        self.assertEqual(appCommand("/d", "/h", "127.0.0.1:1")[-3:],
                         ["--server", "127.0.0.1:1", "--connect"])


class StopProcessTests(SynchronousTestCase):
    """
    L{benchmarks.sessions.stopProcess}, which every benchmark uses to stop
    its server or app.
    """

    def test_stopsAndKills(self) -> None:
        """
        A process is stopped with SIGTERM; one that ignores it is killed
        once the timeout passes.
        """
        import signal
        import subprocess

        from benchmarks.sessions import stopProcess

        polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        stopProcess(polite)
        self.assertEqual(polite.returncode, -signal.SIGTERM)
        stubborn = subprocess.Popen(
            [sys.executable, "-c", "import signal, sys, time; "
             "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"],
            stdout=subprocess.PIPE,
        )
        assert stubborn.stdout is not None
        stubborn.stdout.readline()
        stopProcess(stubborn, timeout=0.2)
        stubborn.stdout.close()
        self.assertEqual(stubborn.returncode, -signal.SIGKILL)
