"""``cites-connector --version`` names the installed distribution's version."""

from importlib.metadata import version

from click.testing import CliRunner

from cites_connector.cli.main import cli


def test_version_is_the_installed_distributions():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cites-connector {version('cites-connector')}\n"
