"""The harness: runs property families under pytest and Hypothesis, with no protocol
knowledge of its own. The modules, one job each:

- plugin.py: the pytest plugin (entry point `nfsprop`): the world options, the run's
  seed in the header, the reproduce section of a failed test.
- profiles.py: the Hypothesis profiles (dev, ci, thorough) and the fixed constant pool.
- seeds.py: the run's seed, and seeding every test from (run seed, test id).
- findings.py: rules and checks with stable codes, findings and their verdicts, the
  per-test Recorder and baselines of known codes.
- recording.py: gives each test its Recorder and puts what it saw in the test's report.
- check.py: `nfsprop check`: the suite in-process, one summary line per check and world,
  `--list`, pass-through to pytest.
- failure.py: the failure block of a failed check; diff.py: the fields in which two
  replies differ.
- pcap.py: pcap files of the RPC messages of a failure on real sockets.
- progress.py: a Meter per test (examples, restarts, the `--max-examples`/`--budget`
  budget), progress events, and `nfsprop check`'s progress lines.
- steps.py: state-machine steps recorded as data (RecordedMachine, @recorded, RunLog)
  and driven again without Hypothesis.
- replay/: replay files, their families and `nfsprop replay`.
"""
