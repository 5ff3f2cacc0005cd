"""What the CLI tests share."""
import pytest

from hill_viz.cli import main


@pytest.fixture
def cli(capsys):
    """`cli(*argv)`: (exit code, stdout, stderr) of `hill-viz ARGV...` run in this process
    (argparse's own errors included)."""
    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err
    return run
