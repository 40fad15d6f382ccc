"""The checkout this package runs from: the clone, for the editable install the lock
installs. The package reads its workflow schema, lock file and bundled weights there."""

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
