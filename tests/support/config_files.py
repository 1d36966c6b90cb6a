"""The example configuration as a file for a command beside a running bench: it names the
bench's database and, on PostgreSQL, the seal key and the file store the bench uses (which
have no default there)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config, default_config_path


def config_file(tmp_path: Path, config: Config, *, name: str = "config.toml",
                **replace: str) -> Path:
    """Write the example configuration naming ``config``'s database; ``replace`` maps texts
    of the example to their replacements."""
    database = config.general.database
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('database = "sunbox.db"', f'database = "{Path(database).as_posix()}"'
                        if not database.startswith("postgres") else f'database = "{database}"')
    if config.security.seal_key_file:
        text = text.replace('# seal_key_file = "/etc/sunbox/seal.key"',
                            f'seal_key_file = "{config.security.seal_key_file}"')
    if config.storage.files:
        text = text.replace('# files = "/var/lib/sunbox/files"',
                            f'files = "{config.storage.files}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
