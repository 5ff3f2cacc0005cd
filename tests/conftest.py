"""Test-wide setup: signing keys and receipts go to a throwaway folder, never the user's ~/.config."""
import os
import tempfile


def pytest_configure(config):
    os.environ["HILL_VIZ_KEY_DIR"] = tempfile.mkdtemp(prefix="hill-viz-keys-")
