"""genreflow doctor on the numba cache that the tiny workflow run's compile_kernels rule
built: every check passes, and the doctor writes nothing to the cache."""

import pytest
from test_doctor import doctor

from genreflow.kernels.cache import folder_fingerprint
from genreflow.kernels.checks import CHECKS

pytestmark = pytest.mark.integration


def test_doctor_passes_on_the_workflows_compiled_kernels(tiny_demo):
    """Every check passes here, on the cache rule compile_kernels built for the run."""
    project, _, _ = tiny_demo
    kernels = project / "results" / "kernels" / "demo" / "numba_cache"
    before = folder_fingerprint(kernels)
    result = doctor("--cache-dir", str(kernels))
    assert folder_fingerprint(kernels) == before
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) >= len(CHECKS) + 1
    assert all(" pass " in row for row in rows), rows
    assert "torch conv2d [cpu]" in result.stdout
    for package in ("numpy", "numba", "llvmlite", "librosa", "torch"):
        assert package in result.stdout
    assert "numba targets CPU " in result.stdout
