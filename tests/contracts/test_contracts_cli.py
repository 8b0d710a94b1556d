"""The validate and generate sub-commands, driven through a tiny argparse harness."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from contracts.cli import add_generate_parser, add_validate_parser


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="examrig")
    sub = parser.add_subparsers(dest="command", required=True)
    add_validate_parser(sub)
    add_generate_parser(sub)
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    return code


def test_validate_real_samples_text(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trt = shared_data / "tis/trt/small-ICA-G11-scored.RDW.xml"
    assert run("validate", str(trt)) == 0
    assert "valid (trt)" in capsys.readouterr().out
    assert run("validate", "--schema", "trt-strict", str(trt)) == 1
    out = capsys.readouterr().out
    assert "INVALID (trt-strict, 11 error(s))" in out
    assert f"{trt}:" in out and "/TDSReport/Opportunity/Item[1]" in out and "responseDuration" in out


def test_validate_directory_json(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", "--format", "json", str(shared_data / "tis/trt")) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report) == 10
    assert sum(r["valid"] for r in report) == 9
    bad = next(r for r in report if not r["valid"])
    assert {"line", "column", "path", "reason"} == set(bad["errors"][0])


def test_validate_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", str(tmp_path / "missing.xml")) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "a.xml").write_bytes(b"<TDSReport/>")
    assert run("validate", "--schema", "nope", str(tmp_path / "a.xml")) == 2
    assert "unknown schema" in capsys.readouterr().err


def test_validate_stdin_hostile(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><TDSReport>&b;</TDSReport>'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bomb)))
    assert run("validate", "-") == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("<stdin>: INVALID") and "unsafe XML refused" in lines[1]
    deep = b"<TDSReport>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</TDSReport>"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(deep)))
    assert run("validate", "-") == 1
    assert "nested too deeply" in capsys.readouterr().out


def test_generate_trt_writes_package_and_everything_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("machine", "partial", "scored", "combined"):
        out = tmp_path / kind
        assert (
            run(
                "generate",
                "trt",
                "--kind",
                kind,
                "--count",
                "3",
                "--seed",
                "5",
                "--items",
                "6",
                "--out",
                str(out),
            )
            == 0
        )
        files = sorted(p.name for p in out.iterdir())
        assert sum(f.startswith("testpackage-") for f in files) == 1
        assert sum(f.startswith("trt-") for f in files) == (6 if kind == "combined" else 3)
        schema = "trt" if kind == "scored" else "trt-strict"
        trts = [str(p) for p in out.glob("trt-*.xml")]
        assert run("validate", "--schema", schema, *trts) == 0
        assert run("validate", str(next(out.glob("testpackage-*.xml")))) == 0
    capsys.readouterr()


def test_generate_with_existing_package(tmp_path: Path) -> None:
    assert run("generate", "testpackage", "--seed", "1", "--items", "4", "--out", str(tmp_path / "pkg")) == 0
    package = next((tmp_path / "pkg").iterdir())
    assert (
        run("generate", "trt", "--package", str(package), "--out", str(tmp_path / "t"), "--count", "2") == 0
    )
    # seeds 0 and 1: the first document of --count N is the one --count 1 writes
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["trt-0.xml", "trt-1.xml"]
    assert run("generate", "trt", "--package", str(tmp_path / "nope.xml")) == 2


def test_generate_to_stdout_and_participants(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("generate", "trt", "--seed", "3") == 0
    assert capsys.readouterr().out.lstrip().startswith("<?xml")
    assert run("generate", "participants", "--count", "4", "--seed", "2") == 0
    people = json.loads(capsys.readouterr().out)
    assert len(people) == 4 and {"ID", "FirstName", "LastName", "PrimaryEmail"} <= set(people[0])
    assert run("generate", "trt", "--count", "2") == 2
