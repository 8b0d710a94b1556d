"""The CLI pieces of issue 18's scoring path that need no served mock: submit's flags and inputs, generate's file
names, validate's note on SAMPLE-VALID, and where ``examrig worker tis`` looks for its peers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.cli import main, worker_topology
from conformance.submit import SubmitUsage, collect, peer_of, root_name
from contracts.generate import generate_testpackage, generate_trt
from mocks.core.settings import Settings

# -- submit ------------------------------------------------------------------------------------------------------


def test_scoremode_is_checked_against_tis_values(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["submit", "trt", "generated:1", "--tis", "http://127.0.0.1:8602", "--scoremode", "bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--scoremode" in err and "'default', 'validate'" in err, err


def test_tds_and_thss_follow_the_tis_port_layout() -> None:
    assert peer_of("http://127.0.0.1:19702", "tds") == "http://127.0.0.1:19704"
    assert peer_of("http://127.0.0.1:19702/", "thss") == "http://127.0.0.1:19703"
    assert peer_of("https://[::1]:8602", "tds") == "https://[::1]:8604"
    with pytest.raises(SubmitUsage, match=r"--tds: cannot be derived from --tis http://tis.example.org \(no port\)"):
        peer_of("http://tis.example.org", "tds")


def test_tis_without_a_port_and_no_tds_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", "trt", "generated:1", "--tis", "http://tis.example.org"]) == 2
    assert "pass --tds URL" in capsys.readouterr().err


def test_a_directory_from_generate_gives_its_package_first_and_only_trts_to_post(tmp_path: Path) -> None:
    assert main(["generate", "trt", "--seed", "3", "--count", "2", "--items", "5", "--out", str(tmp_path)]) == 0
    inputs = collect([str(tmp_path)], None)
    assert [Path(name).name for name, _ in inputs.packages] == ["testpackage-3.xml"]
    assert [Path(name).name for name, _ in inputs.trts] == ["trt-3.xml", "trt-4.xml"]
    assert all(root_name(doc) == "TDSReport" for _, doc in inputs.trts)


def test_package_flag_wins_over_the_package_beside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "trt", "--seed", "3", "--items", "5", "--out", str(tmp_path / "d")]) == 0
    other = tmp_path / "other.xml"
    other.write_bytes(generate_testpackage(99, items=4))
    inputs = collect([str(tmp_path / "d")], other)
    assert [name for name, _ in inputs.packages] == [str(other)]
    assert len(inputs.trts) == 1
    assert "a test package, not a TRT; not sent" in capsys.readouterr().out


def test_generated_spec_brings_its_own_package_unless_one_is_given(tmp_path: Path) -> None:
    inputs = collect(["generated:5", "generated:5:partial"], None)
    assert inputs.packages == [("generated package of generated:5", generate_testpackage(5))]  # loaded once
    assert inputs.trts[0] == ("generated:5", generate_trt(5))
    given = tmp_path / "p.xml"
    given.write_bytes(generate_testpackage(8, items=4))
    inputs = collect(["generated:5"], given)
    assert [name for name, _ in inputs.packages] == [str(given)]


def test_root_name_sees_past_declaration_and_comments() -> None:
    assert root_name(b"<?xml version='1.0'?>\n<!-- x -->\n<TestPackage id='a'/>") == "TestPackage"
    assert root_name(b"<ns:TDSReport xmlns:ns='u'/>") == "TDSReport"
    assert root_name(b"not xml") is None


# -- generate: one naming pattern ------------------------------------------------------------------------------


def test_generated_names_are_one_pattern_for_any_count(tmp_path: Path) -> None:
    for count in (1, 3):
        out = tmp_path / f"trt{count}"
        assert main(["generate", "trt", "--seed", "5", "--count", str(count), "--items", "4", "--out", str(out)]) == 0
        names = sorted(p.name for p in out.iterdir())
        assert names == ["testpackage-5.xml"] + [f"trt-{5 + n}.xml" for n in range(count)]
        out = tmp_path / f"pkg{count}"
        assert main(["generate", "testpackage", "--seed", "5", "--count", str(count), "--out", str(out)]) == 0
        assert sorted(p.name for p in out.iterdir()) == [f"testpackage-{5 + n}.xml" for n in range(count)]
    # the first of three is the document of --count 1, and the package beside TRTs is `generate testpackage`'s
    assert (tmp_path / "trt1" / "trt-5.xml").read_bytes() == (tmp_path / "trt3" / "trt-5.xml").read_bytes()
    assert (tmp_path / "pkg1" / "testpackage-5.xml").read_bytes() == generate_testpackage("5")
    # a seed that is not an integer numbers its documents alike for every count
    assert main(["generate", "trt", "--seed", "abc", "--items", "4", "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["testpackage-abc.xml", "trt-abc-0.xml"]


def test_a_generated_trt_file_is_the_generated_spec_of_its_seed(tmp_path: Path) -> None:
    assert main(["generate", "trt", "--seed", "12", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "trt-12.xml").read_bytes().strip() == generate_trt(12).strip()


# -- validate: SAMPLE-VALID ------------------------------------------------------------------------------------


def test_validate_says_why_sample_valid_is_invalid(shared_data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sample = shared_data / "tis" / "testpackage" / "v4-combined-MATH-11.TESTPACKAGE-SAMPLE-VALID.xml"
    assert main(["validate", str(sample)]) == 1  # still INVALID: the note explains, it does not pass it
    out = capsys.readouterr().out
    assert "INVALID (testpackage, 4 error(s))" in out
    assert "note: all 4 error(s) are Dependency@enabled" in out, out
    # the note's claim holds: without the attribute the sample validates
    stripped = tmp_path / "stripped.xml"
    stripped.write_bytes(re.sub(rb'(<Dependency\b[^>]*?)\s+enabled="[^"]*"', rb"\1", sample.read_bytes()))
    assert main(["validate", str(stripped)]) == 0
    assert "note:" not in capsys.readouterr().out


def test_validate_adds_no_note_to_other_errors(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = shared_data / "tis" / "testpackage" / "v4draft-combined-MATH-11-scoring-rules.TIS-unit-test.xml"
    assert main(["validate", "--format", "json", str(draft)]) == 1
    out = capsys.readouterr().out
    assert '"note": null' in out


# -- worker tis: its peers -------------------------------------------------------------------------------------


def test_worker_finds_the_mocks_where_serve_puts_them() -> None:
    settings = Settings(db="sqlite:///x.db", port_base=19700, topology={"dw": "http://dw.example:9000"})
    assert worker_topology(settings) is None
    assert settings.topology["tis"] == "http://127.0.0.1:19702"
    assert settings.topology["thss"] == "http://127.0.0.1:19703"
    assert settings.topology["openam"] == "http://127.0.0.1:19706"
    assert settings.topology["dw"] == "http://dw.example:9000"  # [topology] wins, as for serve
    default = Settings(db="sqlite:///x.db", host="0.0.0.0", services={"thss": {"tls": True}})
    assert worker_topology(default) is None
    assert default.topology["tis"] == "http://127.0.0.1:8602"
    assert default.topology["thss"] == "https://127.0.0.1:8603"


@pytest.mark.parametrize(("argv", "says"), [
    (["--db", "sqlite://"], "in-memory database"),
    (["--port-base", "65534"], "past 65535"),
    (["--port-base", "0"], "free port (port 0) the worker cannot know"),
])
def test_worker_refuses_settings_that_cannot_work(argv: list[str], says: str, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*_: object) -> int:  # a worker that did start would run until a signal: fail instead of hanging
        raise AssertionError("the worker started")

    monkeypatch.setattr("mocks.tis.service.run_worker", started)
    assert main(["worker", "tis", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err


def test_worker_refuses_a_single_service_port() -> None:
    problem = worker_topology(Settings(db="sqlite:///x.db", port=9100))
    assert problem is not None and "port_base" in problem
