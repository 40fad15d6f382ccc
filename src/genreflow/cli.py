"""The ``genreflow`` command: classify songs with a trained model, and explain why.

Usage::

    genreflow predict SONG [SONG ...] --model results/final/<dataset>/<model>
                      [--top-k 3] [--format text|json|csv] [--plot out.png]
    genreflow classify LIBRARY --model results/final/<dataset>/<model> --out library.csv
                       [--format csv|jsonl] [--jobs N] [--top-k 3] [--whole] [--force]
                       [--write-tags [--dry-run]]
    genreflow classify --undo library.tags-undo-<time>.jsonl [--dry-run]
    genreflow explain SONG --model results/final/<dataset>/<model> [--out explain.png]
    genreflow doctor [--repair] [--cache-dir DIR] [--check NAME ...]
    genreflow pin --configfile config/my_music.yaml [--configfile ...]
    genreflow weights fetch NAME --to DIR [--mirror URL] [--revision REV]
    genreflow weights list

predict writes to standard output and gives each file that cannot be classified one
line on standard error naming it and the reason; classify writes its table and an
errors table beside it. The exit status is 0 when at least one file was classified
(classify: or every file was already in the table), 1 when none was, 2 for a bad
command line or an unusable model. classify --write-tags is 1 also when files needed tags
and none could be written (each file not tagged is named on standard error with its
reason); classify --undo is 0 when every file of the undo file has its old values back
(or already had them), 1 when any could not be restored, 2 for a file that is not an
undo file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from genreflow.errors import GenreflowError

EXIT_OK, EXIT_NONE_CLASSIFIED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genreflow",
        description="Classify music by genre with a model trained by the genreflow workflow.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser(
        "predict",
        help="print the most probable genres of each song",
        description=(
            "Classify audio files (wav, flac, ogg/opus, mp3, aiff, au, m4a/aac; any sample "
            "rate, any number of channels, any length) in sliding windows of the model's "
            "segment length, over the excerpt its training tracks were cut to (--whole: "
            "the whole file)."
        ),
    )
    predict.add_argument("songs", nargs="+", metavar="SONG", help="audio files")
    _model_arguments(predict)
    predict.add_argument("--top-k", type=int, default=3, help="genres listed per file")
    predict.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="output format"
    )
    predict.add_argument(
        "--plot", metavar="PNG", help="draw each genre's probability over time to this file"
    )
    predict.add_argument(
        "--whole",
        action="store_true",
        help="classify the whole file, not the excerpt the model was trained on "
        "(by default 30 s from the middle of a long song)",
    )

    classify = commands.add_parser(
        "classify",
        help="classify every song of a music library into a table (resumable)",
        description=(
            "Walk LIBRARY (any depth, links followed, loops refused), classify every audio "
            "file's excerpt (the one the model was trained on; --whole: all of it) and "
            "append one row per file to OUT: path, content checksum, genre, the top-k "
            "genres with probabilities, duration, the excerpt, the model's id. Run it "
            "again to go on after a stop: files whose checksum already has a row for "
            "this model are skipped. Files that cannot be classified are listed with "
            "their reason in OUT's .errors.csv."
        ),
    )
    classify.add_argument("library", metavar="LIBRARY", nargs="?", help="the folder of your music")
    _model_arguments(classify, required=False)
    classify.add_argument("--out", help="the table: .csv, or .jsonl")
    classify.add_argument(
        "--format", choices=("csv", "jsonl"), help="table format (default: from --out)"
    )
    classify.add_argument(
        "--jobs", type=int, default=1, help="worker processes (default 1; one per core)"
    )
    classify.add_argument("--top-k", type=int, default=3, help="genres listed per file")
    classify.add_argument(
        "--whole", action="store_true", help="classify whole files, not the model's excerpt"
    )
    classify.add_argument(
        "--force", action="store_true", help="classify every file again, replacing OUT"
    )
    classify.add_argument(
        "--batch",
        type=int,
        default=8,
        help="files a worker decodes and runs through the model together (default 8)",
    )
    classify.add_argument(
        "--write-tags",
        action="store_true",
        help="then write each file's genre and a provenance comment into its tags (mp3, "
        'flac, ogg/opus, m4a; needs mutagen: pip install "genreflow[tags]"); the old '
        "values go to an undo file beside OUT",
    )
    classify.add_argument(
        "--dry-run",
        action="store_true",
        help="with --write-tags or --undo: print each file's tag changes (old -> new), "
        "write no tag",
    )
    classify.add_argument(
        "--undo",
        metavar="FILE",
        help="put back the tag values an undo file of --write-tags recorded (alone)",
    )

    explain = commands.add_parser(
        "explain",
        help="Grad-CAM and Integrated Gradients of a song's prediction",
        description=(
            "Explain the window of SONG most typical of its predicted genre: its input "
            "spectrogram with Grad-CAM and Integrated Gradients overlays (torch models)."
        ),
    )
    explain.add_argument("song", metavar="SONG", help="an audio file")
    _model_arguments(explain)
    explain.add_argument("--out", default="explanation.png", metavar="PNG", help="figure path")
    explain.add_argument("--steps", type=int, default=64, help="Integrated Gradients steps")

    pin = commands.add_parser(
        "pin",
        help="pin your own music: write its registry (accepts a changed collection)",
        description=(
            "Write the registry of the collection dataset.source names (every file's "
            "checksum, length, format and tags) to dataset.registry, or to "
            "results/data/<name>/registry.csv when that is null. The workflow checks the "
            "collection against it before every run; run this to accept a change. Every "
            "later stage then reruns on the next snakemake run. Config files are merged "
            "over config/config.yaml as snakemake --configfile does."
        ),
    )
    pin.add_argument(
        "--configfile", action="append", default=[], metavar="YAML", help="config file(s)"
    )
    pin.add_argument(
        "--workdir", default=".", help="the workflow's folder (where config/ and results/ are)"
    )

    doctor = commands.add_parser(
        "doctor",
        help="run every compiled kernel genreflow uses, each in its own process",
        description=(
            "Run librosa's numba kernels, soxr, PyWavelets, torch (every device) and "
            "scikit-learn on a 30 s test signal, each in a child process, and diagnose "
            "failures: a poisoned numba cache (its files named) or the package at fault. "
            "Run it on a compute node of your cluster too."
        ),
    )
    doctor.add_argument(
        "--repair", action="store_true", help="delete the cache files found poisoned"
    )
    doctor.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the numba cache to examine (default: $NUMBA_CACHE_DIR, else numba's default)",
    )
    doctor.add_argument(
        "--check", action="append", default=[], metavar="NAME", help="run only this check"
    )

    weights = commands.add_parser(
        "weights",
        help="fetch a pretrained checkpoint (CLAP, MERT, MuQ) into a folder",
        description=(
            "The clap, mert and muq feature sets read their network from a folder you name "
            "(features.sets.<set>.weights); nothing is downloaded implicitly. `fetch` puts "
            "a known checkpoint's files there and records their SHA-256 (DIR/SHA256SUMS), "
            "source and licence (DIR/genreflow-weights.json); `list` shows the known ones."
        ),
    )
    weights_commands = weights.add_subparsers(dest="weights_command", required=True)
    fetch = weights_commands.add_parser(
        "fetch",
        help="fetch a known checkpoint's files into a folder",
        description=(
            "Fetch each file from <base>/<repo>/resolve/<revision>/<file> (base: "
            "https://huggingface.co, or --mirror). MERT's folder holds its model code, "
            "which the mert kind runs (trust_remote_code, from that folder only): fetch "
            "it from a source you trust."
        ),
    )
    fetch.add_argument("name", metavar="NAME", help="a known checkpoint (genreflow weights list)")
    fetch.add_argument("--to", required=True, metavar="DIR", help="the folder to fill")
    fetch.add_argument(
        "--mirror",
        metavar="URL",
        help="another base URL (http(s)://, file://) or folder, laid out as the hub",
    )
    fetch.add_argument(
        "--revision", metavar="REV", help="a branch, tag or commit (default: the table's)"
    )
    weights_commands.add_parser("list", help="the checkpoints genreflow weights fetch knows")
    return parser


def _model_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--model",
        required=required,
        metavar="DIR",
        help="a trained model's folder, e.g. results/final/demo/cnn_seed001",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")


def predict_command(args: argparse.Namespace) -> int:
    from genreflow.inference.classifier import load_classifier
    from genreflow.inference.output import error_record, prediction_record, render
    from genreflow.inference.songs import SongError

    if args.top_k < 1:
        raise GenreflowError(f"--top-k must be at least 1, not {args.top_k}")
    classifier = load_classifier(args.model, device=args.device)
    records, predictions = [], []
    for song in args.songs:
        try:
            prediction = classifier.predict(song, whole=args.whole)
        except SongError as error:
            print(f"genreflow: {error}", file=sys.stderr)
            records.append(error_record(error))
            continue
        for warning in prediction.warnings:
            print(f"genreflow: {song}: warning: {warning}", file=sys.stderr)
        predictions.append(prediction)
        records.append(prediction_record(prediction, min(args.top_k, len(classifier.genres))))
    sys.stdout.write(render(records, classifier, args.format))
    if args.plot and predictions:
        from genreflow.inference.plots import plot_timeline

        plot_timeline(predictions, args.plot)
        print(f"genreflow: plot written to {args.plot}", file=sys.stderr)
    if not predictions:
        n_files = len(args.songs)
        print(f"genreflow: none of the {n_files} file(s) could be classified", file=sys.stderr)
        return EXIT_NONE_CLASSIFIED
    return EXIT_OK


def classify_command(args: argparse.Namespace) -> int:
    import os

    from genreflow.library.classify import Options, classify_library

    if args.undo:
        return _undo_tags(args)
    if not (args.library and args.model and args.out):
        raise GenreflowError(
            "classify needs LIBRARY, --model DIR and --out TABLE (or --undo FILE alone)"
        )
    if args.dry_run and not args.write_tags:
        raise GenreflowError("--dry-run goes with --write-tags (or --undo FILE)")
    if args.write_tags:
        from genreflow.library.tags import require_mutagen

        require_mutagen()  # before the classification, not after it
    if min(args.top_k, args.jobs, args.batch) < 1:
        raise GenreflowError("--top-k, --jobs and --batch must be at least 1")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    options = Options(args.model, args.device, args.whole, args.top_k, threads)
    summary = classify_library(
        args.library,
        args.out,
        options,
        fmt=args.format,
        jobs=args.jobs,
        chunk=args.batch,
        force=args.force,
    )
    print(f"genreflow classify: {summary.describe()}; table: {args.out}", file=sys.stderr)
    if summary.classified == summary.skipped == 0 and sum(summary.failed.values()) > 0:
        return EXIT_NONE_CLASSIFIED
    if args.write_tags:
        return _write_tags(args)
    return EXIT_OK


def _write_tags(args: argparse.Namespace) -> int:
    """Tag the files of the table just written; see :mod:`genreflow.library.tags`."""
    from genreflow.library.classify import model_id
    from genreflow.library.table import AppendedTable, row_columns, table_format
    from genreflow.library.tags import tag_library

    out = Path(args.out)
    table = AppendedTable(out, table_format(out, args.format), row_columns(args.top_k), fresh=False)
    tags = tag_library(table, model_id(args.model), args.library, dry_run=args.dry_run)
    _report_tags("tags", tags)
    if tags.changed == tags.unchanged == 0 and tags.skipped:
        return EXIT_NONE_CLASSIFIED
    return EXIT_OK


def _undo_tags(args: argparse.Namespace) -> int:
    from genreflow.library.tags import undo_tags

    if args.library or args.model or args.out or args.write_tags:
        raise GenreflowError("--undo FILE goes alone (or with --dry-run)")
    summary = undo_tags(args.undo, dry_run=args.dry_run)
    _report_tags("undo", summary)
    return EXIT_NONE_CLASSIFIED if summary.skipped else EXIT_OK


def _report_tags(what: str, summary) -> None:
    """A line on standard error for each file skipped (but for a format without tags:
    counted only), then the summary."""
    from genreflow.library.tags import NOT_TAGGED

    for path, reason in summary.skipped:
        if not reason.startswith(NOT_TAGGED):
            print(f"genreflow: {path}: not {summary.verb}: {reason}", file=sys.stderr)
    print(f"genreflow classify: {what}: {summary.describe()}", file=sys.stderr)


def explain_command(args: argparse.Namespace) -> int:
    from genreflow.explain.examples import explain_song
    from genreflow.explain.figures import plot_explanations
    from genreflow.inference.classifier import TorchClassifier, load_classifier
    from genreflow.inference.songs import SongError

    classifier = load_classifier(args.model, device=args.device)
    if not isinstance(classifier, TorchClassifier):
        raise GenreflowError(
            f"{args.model}: {classifier.name} is a scikit-learn model on summary statistics; "
            "Grad-CAM and Integrated Gradients explain torch models only."
        )
    first = classifier.windows.specs[0]
    if first.is_embedding:
        raise GenreflowError(
            f"{args.model}: {classifier.name} reads pretrained embeddings ({first.name}); "
            "an attribution over their dimensions says nothing about the audio, so probes "
            "are not explained."
        )
    try:
        audio = classifier.read(args.song)
    except SongError as error:
        print(f"genreflow: {error}", file=sys.stderr)
        return EXIT_NONE_CLASSIFIED
    prediction = classifier.predict_audio(audio)
    started = time.perf_counter()
    example = explain_song(classifier, audio, prediction, args.steps)
    plot_explanations(
        [example],
        classifier.inputs[0],
        f"{classifier.name}: why {Path(args.song).name} is {prediction.genre}",
        args.out,
    )
    print(
        f"{args.song}: {prediction.genre} ({prediction.top(1)[0][1]:.0%}); explanation in "
        f"{args.out} (IG completeness error {example.explanation.delta:+.2g}, "
        f"{time.perf_counter() - started:.1f} s)"
    )
    return EXIT_OK


def doctor_command(args: argparse.Namespace) -> int:
    from genreflow.kernels.report import run_doctor

    try:
        return run_doctor(repair=args.repair, cache_dir=args.cache_dir, only=args.check)
    except ValueError as error:
        raise GenreflowError(str(error)) from None


def pin_command(args: argparse.Namespace) -> int:
    from contextlib import chdir

    with chdir(args.workdir):
        return _pin(args.configfile)


def _pin(configfiles: Sequence[str]) -> int:
    from genreflow.atomic import write_csv
    from genreflow.collection.aliases import load_aliases
    from genreflow.collection.discover import discover
    from genreflow.collection.pin import pin_collection
    from genreflow.plan.collection import default_registry, is_collection
    from genreflow.plan.schema import SCHEMA_PATH, schema_problems
    from genreflow.plan.workflow_files import read_config

    config = read_config(list(configfiles), Path.cwd())
    problems = schema_problems(config, SCHEMA_PATH)
    dataset = config.get("dataset", {})
    # a registry still to be written (never over a published dataset's registry)
    registry_free = not dataset.get("registry") or not Path(dataset["registry"]).exists()
    unpinned = {**dataset, "registry": None}
    if not problems and not (is_collection(dataset) or registry_free and is_collection(unpinned)):
        problems = [f"dataset.source: {dataset['source']} is not a folder or CSV of your music."]
    if not problems:
        block = dataset["collection"]
        aliases = load_aliases(block["genre_aliases"], block["alias_table"])
        found = discover(dataset["source"])
        problems = found.problems
    if problems:
        raise GenreflowError("nothing pinned:\n  " + "\n  ".join(problems))
    labels = aliases.mapping(f.genre_name for f in found.files)
    registry = dataset["registry"] or default_registry(dataset["name"])
    write_csv(pin_collection(found.root, found.files, labels, threads=2), registry)
    print(f"pinned {len(found.files)} files of {found.root} in {registry}")
    return EXIT_OK


def weights_command(args: argparse.Namespace) -> int:
    from genreflow.embeddings.checkpoints import KNOWN_CHECKPOINTS, RECORD_FILE, SUMS_FILE

    if args.weights_command == "list":
        for c in KNOWN_CHECKPOINTS.values():
            print(
                f"{c.name}: {c.repo} ({c.kind}; parameters {c.parameters}, weights "
                f"{c.size}; licence {c.licence})"
            )
        return EXIT_OK
    from genreflow.embeddings.fetch import fetch_checkpoint

    record = fetch_checkpoint(args.name, args.to, mirror=args.mirror, revision=args.revision)
    for name, entry in record["files"].items():
        print(f"{entry['sha256']}  {name}  ({entry['bytes']:,} bytes)")
    print(
        f"{record['name']} ({record['repo']}@{record['revision']}, licence {record['licence']}) "
        f"in {args.to}; SHA-256 in {SUMS_FILE}, source in {RECORD_FILE}. Use it with "
        f"features.sets.<set>: {{kind: {record['kind']}, weights: {args.to}}}"
    )
    return EXIT_OK


COMMANDS = {
    "predict": predict_command,
    "classify": classify_command,
    "explain": explain_command,
    "doctor": doctor_command,
    "pin": pin_command,
    "weights": weights_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="genreflow: %(message)s")
    command = COMMANDS[args.command]
    try:
        return command(args)
    except GenreflowError as error:
        print(f"genreflow: {error}", file=sys.stderr)
        return EXIT_USAGE


def run() -> int:
    """The ``genreflow`` command: :func:`main` in a process with a private numba cache.

    predict and explain run librosa's kernels; they start from a copy of this user's
    compiled kernels (built once, under a lock) so that parallel runs never write a
    shared cache (see :mod:`genreflow.kernels.cache`). The doctor manages caches itself.
    """
    asks_help = any(arg in ("-h", "--help") for arg in sys.argv[2:])
    if (
        sys.argv[1:2] in (["predict"], ["explain"], ["classify"])
        and not asks_help
        and "--undo" not in sys.argv
        and "numba" not in sys.modules
    ):
        from genreflow.kernels.cache import use_private_cache, user_kernel_cache

        try:
            use_private_cache(user_kernel_cache())
        except GenreflowError as error:
            print(f"genreflow: {error}", file=sys.stderr)
            return EXIT_USAGE
    return main()


if __name__ == "__main__":
    sys.exit(run())
