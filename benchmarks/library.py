"""`genreflow classify` on a library of thousands of long songs: files/min, peak RSS, resume.

Usage::

    python -m benchmarks.library --model results/final/demo/musicnn_svm
                                 [--songs 2000] [--unique 2000] [--dir /tmp/genreflow_library]
                                 [--hard-links] [--subset 1000]
                                 [--jobs 2] [--sample 100] [--json F]

The library is the one ``benchmarks/collection.py`` writes (genre folders of songs of
30 s to 8 min in six formats; kept between runs), plus a folder of broken files a real
collection holds (empty, truncated, not audio). Rendering it takes about as long as
classifying it; ``--unique N`` renders the first N songs and fills the library to
``--songs`` with byte copies of them under new names in the same genre folders (each
copy is read, hashed and classified like any file; ``--hard-links`` makes them hard
links, which take no disk). Measured, each as its own process:

* ``classify`` of the whole library with ``--jobs``: wall time, files/min, the largest
  process's peak RSS (workers included), and the rows and errors it wrote;
* the same command again: everything skipped as done (what resuming costs);
* with ``--subset N``: ``classify`` of N of the songs alone, whose peak RSS set against
  the whole library's says whether memory grows with the library;
* on ``--sample`` songs drawn at random: ``genreflow predict`` with every file on its
  command line against ``classify --jobs 1`` and ``--jobs N`` (files/min ratios);
* on the same sample: the genre folder against the verdict of the default excerpt and
  of ``--whole`` (accuracy of each, and how often they agree). The generated songs repeat
  a 15 s section, so the excerpt loses nothing by construction here; the figure checks
  the plumbing, and on a labelled collection of your own (``--library``, one folder
  per genre) it measures what the excerpt gives up.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.collection import make_library

GENREFLOW = Path(sys.executable).with_name("genreflow")
COPY = "copy "  # the name prefix of a copy: a rerun counts only the songs without it


def add_broken_files(root: Path, donor: Path, count: int = 20) -> int:
    """``count`` files no decoder can read, in an ``Unsorted`` folder of ``root``."""
    folder = root / "Unsorted"
    folder.mkdir(parents=True, exist_ok=True)
    head = donor.read_bytes()[:20_000]
    for i in range(count):
        kind = i % 4
        if kind == 0:
            (folder / f"{i:02d} empty.mp3").write_bytes(b"")
        elif kind == 1:
            (folder / f"{i:02d} truncated{donor.suffix}").write_bytes(head)
        elif kind == 2:
            (folder / f"{i:02d} notes.wav").write_text("not audio\n" * 50)
        else:
            (folder / f"{i:02d} random.flac").write_bytes(random.Random(i).randbytes(4096))
    return count


def fill_with_copies(root: Path, unique: int, songs: int, *, hard_links: bool = False) -> int:
    """Copies of the first ``unique`` songs' files until the library holds ``songs``.

    ``hard_links``: new names for the same bytes, not new bytes (no disk used; each is
    still walked, read, hashed and classified as its own file).
    """
    originals = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.parent.name != "Unsorted" and not p.name.startswith(COPY)
    )[:unique]
    made = 0
    for i in range(songs - len(originals)):
        source = originals[i % len(originals)]
        copy = source.with_name(f"{COPY}{i:05d} {source.name}")
        if not copy.exists():
            if hard_links:
                os.link(source, copy)
            else:
                shutil.copyfile(source, copy)
        made += 1
    return made


def timed(command: list[str]) -> dict:
    """Run ``command``; its wall seconds, exit status and the largest process's peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": time.perf_counter() - started,
        "status": process.returncode,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # KiB on Linux; children waited for included
        "stderr_tail": stderr.decode(errors="replace")[-400:],
    }


def classify(library: Path, model: Path, out: Path, *options: str) -> dict:
    command = [str(GENREFLOW), "classify", str(library), "--model", str(model)]
    return timed([*command, "--out", str(out), *options])


def _linked(paths: list[Path], folder: Path) -> Path:
    """``folder`` of numbered symbolic links to ``paths`` (classify follows links)."""
    folder.mkdir()
    for i, path in enumerate(paths):
        (folder / f"{i:05d}{path.suffix}").symlink_to(path)
    return folder


def read_rows(table: Path) -> list[dict]:
    with table.open(newline="") as handle:
        return list(csv.DictReader(handle))


def accuracy(rows: list[dict], root: Path) -> float:
    """Share of rows whose genre is the song's top folder under ``root``."""
    right = sum(Path(r["path"]).resolve().relative_to(root).parts[0] == r["genre"] for r in rows)
    return right / len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a final model's folder")
    parser.add_argument("--songs", type=int, default=2000)
    parser.add_argument("--unique", type=int, help="songs rendered; the rest are copies")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/genreflow_library"))
    parser.add_argument("--library", type=Path, help="a labelled library of your own instead")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--hard-links", action="store_true", help="copies as hard links")
    parser.add_argument(
        "--subset",
        type=int,
        help="also classify this many of the songs alone: peak RSS against the whole library's",
    )
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    if args.library:
        root = args.library.resolve()
    else:
        root = (args.dir / "music").resolve()
        unique = min(args.unique or args.songs, args.songs)
        written = make_library(root, unique, args.jobs)
        copies = fill_with_copies(root, unique, args.songs, hard_links=args.hard_links)
        print(
            f"library: {args.songs} songs under {root} ({unique} rendered in {written:.0f} s, "
            f"{copies} copies of them)"
        )
        results_extra = {"unique_songs": unique, "copies": copies}
        donor = next(root.rglob("*.flac"))
        add_broken_files(root, donor)
    work = Path(tempfile.mkdtemp(prefix="genreflow_library_bench_"))
    results: dict = {"library": str(root), "model": str(args.model), "jobs": args.jobs}
    if not args.library:
        results |= results_extra

    table = work / "library.csv"
    first = classify(root, args.model, table, "--jobs", str(args.jobs))
    rows = read_rows(table)
    errors = read_rows(table.with_name("library.errors.csv"))
    files = len(rows) + len(errors)
    first |= {"files": files, "rows": len(rows), "errors": len(errors)}
    first["files_per_min"] = 60 * files / first["seconds"]
    results["classify"] = first
    again = classify(root, args.model, table, "--jobs", str(args.jobs))
    assert len(read_rows(table)) == len(rows), "the rerun changed the table"
    results["resume"] = again

    songs = sorted(Path(r["path"]) for r in rows)
    if args.subset:
        subset = _linked(
            random.Random(1).sample(songs, min(args.subset, len(songs))), work / "subset"
        )
        alone = classify(subset, args.model, work / "subset.csv", "--jobs", str(args.jobs))
        alone |= {"files": len(read_rows(work / "subset.csv"))}
        alone["files_per_min"] = 60 * alone["files"] / alone["seconds"]
        results["subset"] = alone
    chosen = random.Random(0).sample(songs, min(args.sample, len(songs)))
    sample = _linked(chosen, work / "sample")
    predict = timed(
        [
            str(GENREFLOW),
            "predict",
            *map(str, chosen),
            "--model",
            str(args.model),
            "--format",
            "csv",
        ]
    )
    one = classify(sample, args.model, work / "sample1.csv", "--jobs", "1")
    many = classify(sample, args.model, work / "sampleN.csv", "--jobs", str(args.jobs))
    whole = classify(sample, args.model, work / "whole.csv", "--jobs", str(args.jobs), "--whole")
    n = len(chosen)
    for record in (predict, one, many, whole):
        record["files_per_min"] = 60 * n / record["seconds"]
    excerpt_rows = read_rows(work / "sampleN.csv")
    whole_rows = read_rows(work / "whole.csv")
    verdicts = {Path(r["path"]).name: r["genre"] for r in whole_rows}
    results["sample"] = {
        "files": n,
        "predict": predict,
        "classify_jobs_1": one,
        f"classify_jobs_{args.jobs}": many,
        "classify_whole": whole,
        "excerpt_accuracy": accuracy(excerpt_rows, root),
        "whole_accuracy": accuracy(whole_rows, root),
        "agreement": sum(verdicts[Path(r["path"]).name] == r["genre"] for r in excerpt_rows) / n,
    }

    print(
        f"\nclassify, {files} files ({len(errors)} broken), --jobs {args.jobs}: "
        f"{first['seconds']:.0f} s, {first['files_per_min']:.0f} files/min, "
        f"peak RSS {first['peak_rss_mib']:.0f} MiB (largest process)"
    )
    print(f"rerun, everything already in the table: {again['seconds']:.1f} s")
    if args.subset:
        alone = results["subset"]
        print(
            f"{alone['files']} of the songs alone, --jobs {args.jobs}: "
            f"{alone['files_per_min']:.0f} files/min, peak RSS {alone['peak_rss_mib']:.0f} MiB; "
            f"the whole library's / theirs: {first['peak_rss_mib'] / alone['peak_rss_mib']:.3f}"
        )
    s = results["sample"]
    print(f"\n{n} songs drawn at random        files/min   peak RSS MiB")
    for label, record in (
        ("genreflow predict (all on one line)", predict),
        ("classify --jobs 1", one),
        (f"classify --jobs {args.jobs}", many),
        (f"classify --jobs {args.jobs} --whole", whole),
    ):
        print(f"  {label:36s} {record['files_per_min']:8.1f} {record['peak_rss_mib']:10.0f}")
    print(
        f"  ratio classify --jobs 1 / predict: {one['files_per_min'] / predict['files_per_min']:.2f}"
        f"; --jobs {args.jobs} / predict: {many['files_per_min'] / predict['files_per_min']:.2f}"
    )
    print(
        f"  accuracy against the genre folders: excerpt {s['excerpt_accuracy']:.1%}, whole "
        f"file {s['whole_accuracy']:.1%}; the two verdicts agree on {s['agreement']:.1%}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
