"""genreflow classify: a library in nested folders, bad files as rows of the errors
table, a table that survives being stopped at any moment and resumes without doubles."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from test_predict import default_features, save_torch_model

from genreflow.cli import main
from genreflow.library.classify import Options, classify_library, model_id
from genreflow.library.table import AppendedTable, errors_path, row_columns

GOOD = {
    "Rock/Artist A/01 first.wav": 12,
    "Rock/Artist A/02 second.flac": 40,  # longer than the 10 s excerpt: its middle
    "Rock/Artist B/Live/03.mp3": 9,
    "Jazz/04.ogg": 7,
    "Jazz/Nested/Deeper/05.wav": 20,
    "06 loose.wav": 6,
    "Jazz/Café – naïve, «quoted».wav": 5,  # a comma and non-ASCII letters in a CSV cell
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    features = default_features(excerpt={"policy": "middle", "count": 1, "tolerance_s": 1.0})
    features["excerpt"]["seconds"] = 10.0
    return save_torch_model(tmp_path_factory.mktemp("model"), features)


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("library")
    rng = np.random.default_rng(3)
    for i, (relpath, seconds) in enumerate(GOOD.items()):
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(seconds * 22050) / 22050
        y = 0.3 * np.sin(2 * np.pi * (110 + 60 * i) * t) + 0.02 * rng.normal(size=t.size)
        kind = {".mp3": "MP3", ".ogg": "OGG", ".flac": "FLAC"}.get(path.suffix, "WAV")
        sf.write(path, y.astype(np.float32), 22050, format=kind)
    (root / "Rock" / "empty.mp3").write_bytes(b"")
    (root / "Jazz" / "notes.wav").write_text("not a song\n")
    (root / "Jazz" / "cover.jpg").write_bytes(b"\xff\xd8")  # not audio: not listed
    (root / "Jazz" / "Nested" / "loop").symlink_to(root / "Jazz")
    (root / "gone.flac").symlink_to(root / "nowhere.flac")
    return root


def classify(library, out, model_dir, **kwargs) -> object:
    options = Options(str(model_dir), top_k=kwargs.pop("top_k", 3))
    return classify_library(library, out, options, progress=False, **kwargs)


def sorted_rows(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).sort_values("path", ignore_index=True)


def test_a_library_gives_one_row_per_song_and_one_error_row_per_bad_file(
    library, model_dir, tmp_path
):
    out = tmp_path / "library.csv"
    summary = classify(library, out, model_dir)
    table = sorted_rows(out)
    assert list(table.columns) == row_columns(3)
    assert sorted(Path(p).relative_to(library).as_posix() for p in table["path"]) == sorted(GOOD)
    assert summary.classified == len(GOOD) and summary.skipped == 0
    assert table["model_id"].unique().tolist() == [model_id(model_dir)]
    assert (table["genre"] == table["genre_1"]).all()
    assert (table["probability_1"] >= table["probability_2"]).all()
    assert table["checksum"].str.fullmatch("[0-9a-f]{32}").all()
    long = table[table["path"].str.endswith("02 second.flac")].iloc[0]
    assert long["excerpt"] == "15-25 s" and long["duration_s"] == pytest.approx(40, abs=0.1)
    assert table.loc[table["path"].str.endswith("06 loose.wav"), "excerpt"].item() == "whole"
    errors = pd.read_csv(errors_path(out)).set_index("path")
    assert errors.loc[str(library / "Rock" / "empty.mp3"), "reason"] == "zero bytes"
    assert errors.loc[str(library / "Jazz" / "notes.wav"), "reason"] == "not audio"
    assert errors.loc[str(library / "Jazz" / "Nested" / "loop"), "reason"] == "symlink loop"
    assert errors.loc[str(library / "gone.flac"), "reason"] == "broken symlink"
    assert dict(summary.failed) == {
        "zero bytes": 1,
        "not audio": 1,
        "symlink loop": 1,
        "broken symlink": 1,
    }


def test_a_rerun_skips_what_is_done_and_a_cut_batch_is_redone(library, model_dir, tmp_path):
    out = tmp_path / "library.csv"
    classify(library, out, model_dir)
    whole = out.read_text()
    lines = whole.splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:20])  # a crash in the middle of a batch
    summary = classify(library, out, model_dir)
    assert summary.skipped == 2 and summary.classified == len(GOOD) - 2
    assert sorted(out.read_text().splitlines()) == sorted(whole.splitlines())
    again = classify(library, out, model_dir)  # nothing left to do
    assert again.classified == 0 and again.skipped == len(GOOD)
    assert sorted(out.read_text().splitlines()) == sorted(whole.splitlines())
    # a file whose bytes change is classified again; --force redoes everything
    changed = library / "06 loose.wav"
    y, rate = sf.read(changed)
    try:
        sf.write(changed, y[::-1], rate)
        assert classify(library, out, model_dir).classified == 1
        table = pd.read_csv(out)  # its old row replaced, not doubled
        assert len(table) == len(GOOD) and table["path"].is_unique
    finally:
        sf.write(changed, y, rate)
    forced = classify(library, out, model_dir, force=True)
    assert forced.classified == len(GOOD)
    assert len(pd.read_csv(out)) == len(GOOD)


def test_two_workers_and_json_lines_give_the_same_rows(library, model_dir, tmp_path):
    classify(library, tmp_path / "one.csv", model_dir)
    classify(library, tmp_path / "two.jsonl", model_dir, jobs=2)
    one = sorted_rows(tmp_path / "one.csv")
    two = pd.DataFrame(
        [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    )
    two = two.sort_values("path", ignore_index=True)[one.columns]
    assert one[["path", "checksum", "genre", "genre_2", "excerpt"]].equals(
        two[["path", "checksum", "genre", "genre_2", "excerpt"]]
    )
    assert np.allclose(one["probability"], two["probability"], atol=2e-4)


def test_a_table_of_other_columns_is_refused_with_what_to_do(library, model_dir, tmp_path):
    out = tmp_path / "library.csv"
    classify(library, out, model_dir, top_k=2)
    with pytest.raises(Exception, match="another --top-k .* pass --force to replace it"):
        classify(library, out, model_dir, top_k=3)


def test_killed_twice_then_rerun_gives_the_uninterrupted_table(library, model_dir, tmp_path):
    reference = tmp_path / "reference.csv"
    assert main(["classify", str(library), "--model", str(model_dir), "--out", str(reference)]) == 0
    out = tmp_path / "library.csv"
    # the command's main() (run() would first build this user's kernel cache: minutes)
    command = [sys.executable, "-c", "import sys; from genreflow.cli import main; "]
    command[-1] += "sys.exit(main(sys.argv[1:]))"
    command += ["classify", str(library)]
    command += ["--model", str(model_dir), "--out", str(out), "--batch", "1"]
    rows_after_kill = []
    for _ in range(2):
        process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) > 1 + _:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        process.wait()
        rows_after_kill.append(len(out.read_text().splitlines()) - 1)
    assert min(rows_after_kill) < len(GOOD)  # stopped half-way at least once
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "classified" in finished.stderr
    assert sorted(out.read_text().splitlines()) == sorted(reference.read_text().splitlines())


def _children(pid: int) -> set[int]:
    """The process ids whose parent is ``pid`` (Linux /proc)."""
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(c) for c in (task / "children").read_text().split()}
    return children


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_the_workers_end_when_the_command_is_killed(library, model_dir, tmp_path):
    """SIGKILL of the command alone (not its process group): its --jobs workers, each
    holding a model, end themselves instead of waiting for work that never comes."""
    out = tmp_path / "library.csv"
    command = [sys.executable, "-c", "import sys; from genreflow.cli import main; "]
    command[-1] += "sys.exit(main(sys.argv[1:]))"
    command += ["classify", str(library), "--model", str(model_dir), "--out", str(out)]
    process = subprocess.Popen([*command, "--jobs", "2", "--batch", "1"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while process.poll() is None and time.monotonic() < deadline and len(workers) < 2:
        workers = _children(process.pid) if out.exists() else set()
        time.sleep(0.02)
    assert len(workers) >= 2, "the command ended before its workers could be seen"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(map(_running, workers)):
        time.sleep(0.1)
    assert not [w for w in workers if _running(w)]


def test_the_table_cuts_only_a_half_written_last_line(tmp_path):
    path = tmp_path / "t.csv"
    table = AppendedTable(path, "csv", ["a", "b"], fresh=True)
    table.append([{"a": 1, "b": "x,y"}, {"a": 2, "b": None}])
    path.write_text(path.read_text() + "3,half")
    table = AppendedTable(path, "csv", ["a", "b"], fresh=False)
    assert path.read_text() == 'a,b\n1,"x,y"\n2,\n'
    assert [row["a"] for row in table.rows()] == ["1", "2"]


def test_songs_batched_through_the_network_get_their_own_probabilities(library, model_dir):
    from genreflow.inference import load_classifier

    classifier = load_classifier(model_dir)
    audios = [classifier.read(library / name) for name in list(GOOD)[:3]]
    batched = classifier.predict_audios(audios)
    for audio, prediction in zip(audios, batched):
        alone = classifier.predict_audio(audio)
        assert prediction.path == alone.path and len(prediction.starts_s) == len(alone.starts_s)
        assert np.allclose(prediction.probabilities, alone.probabilities, atol=1e-6)


def test_a_file_that_fails_in_an_unforeseen_way_is_its_own_error_row(
    library, model_dir, tmp_path, monkeypatch
):
    from genreflow.inference.classifier import Classifier

    read = Classifier.read

    def read_or_fail(self, path, **kwargs):
        if str(path).endswith("04.ogg"):
            raise RuntimeError("the decoder crashed")
        return read(self, path, **kwargs)

    monkeypatch.setattr(Classifier, "read", read_or_fail)
    out = tmp_path / "library.csv"
    summary = classify(library, out, model_dir)
    assert summary.classified == len(GOOD) - 1 and summary.failed["failed"] == 1
    errors = pd.read_csv(errors_path(out)).set_index("path")
    assert errors.loc[str(library / "Jazz" / "04.ogg"), "detail"] == (
        "RuntimeError: the decoder crashed"
    )
