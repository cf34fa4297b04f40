from __future__ import annotations

import pytest

from dialogs.loader import default_dialog_path, load_dialog
from dialogs.model import Dialog


@pytest.fixture(scope="session")
def dialog() -> Dialog:
    """The shipped default dialog, loaded once."""
    return load_dialog(default_dialog_path())


pytest_plugins = ("tests.browsers", "tests.postgres")   # `browser`; `pg_server`, `pg_url`
