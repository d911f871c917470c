"""Where the client finds failbridge: flags, then the environment (`FAILBRIDGE_URL`,
`FAILBRIDGE_API_KEY`, `FAILBRIDGE_PROJECT`), then a TOML file (`--config`, `FAILBRIDGE_CONFIG`,
`./.failbridge.toml` or `~/.config/failbridge/config.toml`):

    url = "https://failbridge.example.com"
    api_key = "..."      # better from the CI's secret store, through FAILBRIDGE_API_KEY
    project = "DEMO"

The key is never printed: `Config`'s repr masks it."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

URL_ENV = "FAILBRIDGE_URL"
KEY_ENV = "FAILBRIDGE_API_KEY"
PROJECT_ENV = "FAILBRIDGE_PROJECT"
CONFIG_ENV = "FAILBRIDGE_CONFIG"
RUN_ENVS = ("FAILBRIDGE_RUN", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILD_TAG", "BUILD_ID")
# the commit a run tested: GitHub Actions, GitLab CI, Jenkins (git plugin), TeamCity
COMMIT_ENVS = ("FAILBRIDGE_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "BUILD_VCS_NUMBER")


class ConfigError(Exception):
    """Something the user must set is missing or unreadable."""


@dataclass(frozen=True)
class Config:
    url: str
    api_key: str = field(repr=False)
    project: str | None = None

    def __repr__(self) -> str:
        return f"Config(url={self.url!r}, api_key='***', project={self.project!r})"


def _file(path: str | None, env: Mapping[str, str]) -> dict[str, object]:
    candidates = [path or env.get(CONFIG_ENV) or ""]
    if not candidates[0]:
        candidates = [".failbridge.toml", str(Path.home() / ".config/failbridge/config.toml")]
    for candidate in candidates:
        p = Path(candidate)
        if p.is_file():
            try:
                return tomllib.loads(p.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read the config file {p}: {exc}") from exc
        if path or env.get(CONFIG_ENV):
            raise ConfigError(f"the config file {p} does not exist")
    return {}


def load_config(
    *,
    url: str | None = None,
    api_key: str | None = None,
    project: str | None = None,
    config_file: str | None = None,
    env: Mapping[str, str] | None = None,
    require_project: bool = True,
) -> Config:
    env = os.environ if env is None else env
    data = _file(config_file, env)
    url = url or env.get(URL_ENV) or str(data.get("url") or "")
    api_key = api_key or env.get(KEY_ENV) or str(data.get("api_key") or "")
    project = project or env.get(PROJECT_ENV) or str(data.get("project") or "") or None
    if not url:
        raise ConfigError(f"no failbridge URL: pass --url or set {URL_ENV}")
    if not api_key:
        raise ConfigError(f"no API key: set {KEY_ENV} (or api_key in the config file)")
    if require_project and not project:
        raise ConfigError(f"no project: pass --project or set {PROJECT_ENV}")
    return Config(url=url.rstrip("/"), api_key=api_key, project=project)


def run_from_env(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return next((env[name] for name in RUN_ENVS if env.get(name)), None)


def commit_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The commit CI checked out (failbridge tells flaky tests by a commit that failed and
    passed)."""
    env = os.environ if env is None else env
    return next((env[name] for name in COMMIT_ENVS if env.get(name)), None)
