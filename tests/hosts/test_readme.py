"""The README's Python and JavaScript examples are, byte for byte, the example
files that the host test suites run (host/python/example.py, host/js/example.mjs, and the
installed-package examples host/python/example_installed.py, host/js/example_installed.mjs)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_readme_shows_the_examples_that_run():
    readme = (REPO / "README.md").read_text()
    for example in [
        "host/python/example.py",
        "host/js/example.mjs",
        "host/python/example_installed.py",
        "host/js/example_installed.mjs",
    ]:
        text = (REPO / example).read_text()
        assert text in readme, f"README.md does not show {example} as it is"
