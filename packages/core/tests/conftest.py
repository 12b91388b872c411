"""Make this folder's helper modules importable by name, here and in worker subprocesses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
