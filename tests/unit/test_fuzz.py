"""Hypothesis on the argument parsers and on the run.json loader: a clear error or a value,
never a crash."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from profkit.cli import main
from profkit.errors import ProfkitError, UsageError
from profkit.executors.registry import EXECUTORS, parse_modes, parse_positive_int
from profkit.store import FORMAT_VERSION, read_run_json

MODE_KINDS = tuple(EXECUTORS)

tokens = st.text(alphabet=string.ascii_letters + string.digits + ":,-=. ", max_size=20)


#: Mode lists as a user types them: real kinds, typos and empty parts, with or without ``:N``.
mode_parts = st.tuples(
    st.sampled_from((*MODE_KINDS, "thread", "seq", "", " processes ")),
    st.one_of(st.none(), st.integers(-1, 12).map(str), tokens),
).map(lambda part: part[0] if part[1] is None else f"{part[0]}:{part[1]}")
#: ... and lists of distinct real kinds, most of which parse
real_parts = st.lists(st.tuples(st.sampled_from(MODE_KINDS), st.one_of(st.none(), st.integers(1, 12))),
                      min_size=1, max_size=len(MODE_KINDS), unique_by=lambda part: part[0])
mode_texts = st.one_of(
    st.text(max_size=40),
    st.lists(mode_parts, max_size=4).map(",".join),
    real_parts.map(lambda parts: ",".join(k if n is None else f"{k}:{n}" for k, n in parts)),
)


@example("sequential, threads:3,processes")  # the accepted branch runs in every test run
@example("dask:0")
@given(mode_texts)
def test_parse_modes_returns_specs_or_a_usage_error(text):
    try:
        specs = parse_modes(text, 2)
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return
    # accepted: exactly the modes the text names, in order, each once, with the count it gives
    parts = [p.strip().partition(":") for p in text.split(",") if p.strip()]
    assert [s.kind for s in specs] == [kind for kind, _, _ in parts]
    assert len({s.kind for s in specs}) == len(specs)
    for spec, (_, _, count) in zip(specs, parts, strict=True):
        assert spec.kind in MODE_KINDS
        expected = (int(count) if count else 2) if spec.parallel else 1
        assert spec.workers == expected >= 1, (text, spec)


@given(st.one_of(st.text(max_size=10), st.integers()))
def test_parse_positive_int(value):
    try:
        n = parse_positive_int(value, "--workers")
    except UsageError as exc:
        assert "--workers" in str(exc)
    else:
        assert n >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(tokens, max_size=6))
def test_cli_never_raises_on_a_bad_target(capsys, argv):
    # The target never resolves, so nothing runs; whatever the flags, the answer is an exit code.
    code = main(["profile", "no-such-workload-xyz", *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(tokens, max_size=4))
def test_cli_usage_errors_are_exit_codes(capsys, argv):
    code = main(["report", *argv]) if argv else main(["report"])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
run_like = st.fixed_dictionaries(
    {"format_version": st.one_of(st.integers(-2, 3), st.text(max_size=3), st.none())},
    optional={"analysis": json_values, "status": json_values, "workload": json_values},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, run_like, st.binary(max_size=64)))
def test_run_json_loader_accepts_or_refuses_clearly(tmp_path_factory, payload):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "run.json"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(json.dumps(payload))
    try:
        meta, analysis = read_run_json(folder)
    except ProfkitError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert meta.format_version == FORMAT_VERSION
        assert isinstance(analysis, dict)
