"""Settings: one frozen object built from the environment (and `.env`), passed in.

Every setting here appears in `.env.example`; a test checks it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from dialogs.loader import default_dialog_path

# name -> (default, help). `.env.example` lists exactly these.
SETTINGS: dict[str, tuple[str, str]] = {
    "HEARD_DB": ("data/heard.db", "SQLite file holding the complaint records"),
    "HEARD_DIALOG": ("", "dialog file to use (empty: the shipped dialogs/default.yml)"),
    "HEARD_LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
}


@dataclass(frozen=True, slots=True)
class Settings:
    db_path: Path
    dialog_path: Path
    log_level: str

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
        """Environment wins over `.env`, which wins over defaults."""
        values = {name: default for name, (default, _) in SETTINGS.items()}
        if env is None:
            file_values = dotenv_values(env_file) if Path(env_file).is_file() else {}
            values.update({k: v for k, v in file_values.items() if k in SETTINGS and v is not None})
            env = os.environ
        values.update({k: v for k, v in env.items() if k in SETTINGS})
        return cls(
            db_path=Path(values["HEARD_DB"]),
            dialog_path=Path(values["HEARD_DIALOG"]) if values["HEARD_DIALOG"] else default_dialog_path(),
            log_level=values["HEARD_LOG_LEVEL"].upper(),
        )
