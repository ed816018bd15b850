"""Where the CLI takes its settings from: flags, then AIGOV_* variables, then a config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigov_cli.config import DEFAULT_URL, load_config
from aigov_cli.errors import CliError
from tests.unit.cli.conftest import Aigov

NO_FLAGS: dict[str, str | None] = {}


def write(path: Path, text: str) -> Path:
    """Write `text` to `path` (parents created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestPrecedence:
    def test_defaults(self, tmp_path: Path) -> None:
        config = load_config(NO_FLAGS, env={"XDG_CONFIG_HOME": str(tmp_path)})
        assert [config.url(s) for s in ("intake", "tiering", "evidence")] == [DEFAULT_URL] * 3
        assert config.timeout == 30.0
        assert config.config_file is None

    def test_flag_over_environment_over_file(self, tmp_path: Path) -> None:
        write(
            tmp_path / "aigov" / "config.yaml", "url: http://file:1\ntoken: from-file\ntimeout: 5\n"
        )
        env = {"XDG_CONFIG_HOME": str(tmp_path), "AIGOV_URL": "http://env:2"}
        config = load_config({"url": "http://flag:3"}, env=env)
        assert config.url("intake") == "http://flag:3"
        assert (config.token(), config.timeout) == ("from-file", 5.0)
        assert config.settings["url"].origin == "--url"
        assert config.settings["token"].origin.endswith("config.yaml: token")
        assert load_config(NO_FLAGS, env=env).url("intake") == "http://env:2"

    def test_per_service_urls_default_to_the_base_url(self) -> None:
        env = {"AIGOV_URL": "http://aigov:8080/", "AIGOV_EVIDENCE_URL": "http://127.0.0.1:8083"}
        config = load_config(NO_FLAGS, env=env, config_path=None)
        assert config.url("intake") == "http://aigov:8080"
        assert config.url("evidence") == "http://127.0.0.1:8083"

    def test_the_router_url(self, tmp_path: Path) -> None:
        env = {"AIGOV_URL": "http://aigov:8080"}
        assert load_config(NO_FLAGS, env=env).url("router") == "http://aigov:8080"
        own = load_config(NO_FLAGS, env={**env, "AIGOV_ROUTER_URL": "http://127.0.0.1:8084"})
        assert own.url("router") == "http://127.0.0.1:8084"
        path = write(tmp_path / "ci.yaml", "router_url: http://router:8084\n")
        assert load_config(NO_FLAGS, env={"AIGOV_CONFIG": str(path)}).url("router") == (
            "http://router:8084"
        )
        assert (
            load_config({"router_url": "http://flag:1"}, env=env).url("router") == "http://flag:1"
        )
        with pytest.raises(CliError, match="AIGOV_ROUTER_URL = 'router:8084' is not a URL"):
            load_config(NO_FLAGS, env={"AIGOV_ROUTER_URL": "router:8084"})

    def test_aigov_config_names_the_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "ci.yaml", "tiering_url: http://tiering:8082\n")
        config = load_config(NO_FLAGS, env={"AIGOV_CONFIG": str(path)})
        assert config.url("tiering") == "http://tiering:8082"


class TestConfigErrors:
    def test_missing_token_says_how_to_set_one(self, tmp_path: Path) -> None:
        config = load_config(NO_FLAGS, env={"XDG_CONFIG_HOME": str(tmp_path)})
        with pytest.raises(CliError, match="no API token: set AIGOV_TOKEN, pass --token"):
            config.token()

    def test_a_url_without_scheme(self) -> None:
        with pytest.raises(CliError, match=r"AIGOV_URL = 'aigov\.example\.com' is not a URL"):
            load_config(NO_FLAGS, env={"AIGOV_URL": "aigov.example.com"})

    def test_a_bad_timeout(self) -> None:
        with pytest.raises(CliError, match="give a positive number of seconds"):
            load_config({"timeout": "soon"}, env={})

    def test_unknown_keys_in_the_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yaml", "url: http://x\ntokn: t\n")
        with pytest.raises(CliError, match=r"unknown keys \['tokn'\]"):
            load_config(NO_FLAGS, env={}, config_path=path)

    def test_a_named_file_that_does_not_exist(self, tmp_path: Path) -> None:
        with pytest.raises(CliError, match="does not exist"):
            load_config(NO_FLAGS, env={"AIGOV_CONFIG": str(tmp_path / "nope.yaml")})

    def test_malformed_yaml(self, tmp_path: Path) -> None:
        path = write(tmp_path / "c.yaml", "url: [\n")
        with pytest.raises(CliError, match="is not valid YAML"):
            load_config(NO_FLAGS, env={}, config_path=path)


class TestCommandLine:
    def test_no_token_exits_2(self, tmp_path: Path) -> None:
        result = Aigov()("gate", "--system", "s", "--version", "1", token=None)
        assert result.exit_code == 2
        assert "Error: no API token: set AIGOV_TOKEN" in result.stderr

    def test_config_shows_values_and_origins_with_the_token_masked(self, tmp_path: Path) -> None:
        write(tmp_path / "xdg" / "aigov" / "config.yaml", "evidence_url: http://127.0.0.1:8083\n")
        result = Aigov()("config", token="secret-token-value", aigov_url="http://127.0.0.1:8080")
        assert result.exit_code == 0, result.output
        assert "secret-token-value" not in result.stdout
        rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
        assert rows["token"][:3] == ["secr…", "(18", "characters)"]
        assert rows["url"] == ["http://127.0.0.1:8080", "AIGOV_URL"]
        assert rows["evidence_url"][0] == "http://127.0.0.1:8083"
        assert rows["evidence_url"][1].endswith("config.yaml:")
