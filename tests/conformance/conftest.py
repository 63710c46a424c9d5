import sys
from pathlib import Path

# broken_backend.py lives beside the tests; make it importable for the in-process tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
