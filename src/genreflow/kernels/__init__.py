"""Compiled kernels: librosa's numba kernels, compiled once, and the doctor that checks them.

- :mod:`~genreflow.kernels.cache`: where numba caches kernels, and the private per-job
  (per-process) caches that keep two processes from ever writing the same one.
- :mod:`~genreflow.kernels.checks`: every compiled kernel genreflow depends on, run on a
  known signal and checked against it.
- :mod:`~genreflow.kernels.warmup`: rule ``compile_kernels``: every kernel path the jobs
  use, compiled in one process.
- ``genreflow doctor``: :mod:`~genreflow.kernels.child` runs one check in a child
  process, :mod:`~genreflow.kernels.doctor` finds which fail and why,
  :mod:`~genreflow.kernels.report` prints the verdict and repairs.

This package sits above :mod:`genreflow.features` (it warms features' code paths), which
never imports it. Importing the package imports nothing, so a job can import
:mod:`~genreflow.kernels.cache` before numba.
"""
