import sys
from pathlib import Path

# The repository root, so that `js7es` and `tests.journal.support` import without an installed package
# (pyproject sets no pytest `pythonpath`).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
