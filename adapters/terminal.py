"""The terminal chat (`heard chat`): be the customer, see what the bot would say.

Buttons are numbered; typing the number presses the button. `/new` starts a fresh
customer, `/quit` (or end of input) leaves. Every turn is a real record in the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot import turns
from bot.types import Button, Incoming, Outgoing, Profile
from dialogs.model import Dialog
from storage.store import Store

CHANNEL = "terminal"
HELP = {
    "zh-TW": "（輸入訊息和客服機器人對話；按鈕請輸入編號；/new 換一位新客人；/quit 離開）",
    "zh-CN": "（输入消息和客服机器人对话；按钮请输入编号；/new 换一位新客人；/quit 离开）",
    "en": "(Type as a customer; press a button by its number; /new for a new customer; /quit to leave)",
}


class TerminalChat:
    def __init__(self, dialog: Dialog, db_path: str | Path, locale: str | None = None) -> None:
        self.dialog = dialog
        self.db_path = db_path
        self.locale = locale
        self.user = self._new_user()
        self.buttons: tuple[Button, ...] = ()

    @staticmethod
    def _new_user() -> str:
        return "cli-" + uuid.uuid4().hex[:8]

    def run(self, stdin: TextIO, stdout: TextIO) -> int:
        store = Store.open(self.db_path)
        try:
            print(HELP.get(self.locale or self.dialog.default_locale, HELP["en"]), file=stdout)
            self._prompt(stdout)
            for line in stdin:
                if not self._handle(store, line.rstrip("\r\n"), stdout):
                    break
                self._prompt(stdout)
        finally:
            store.close()
        print(file=stdout)
        return 0

    def _prompt(self, stdout: TextIO) -> None:
        print("> ", end="", file=stdout, flush=True)

    def _handle(self, store: Store, line: str, stdout: TextIO) -> bool:
        command = line.strip().lower()
        if command in ("/quit", "/exit"):
            return False
        if command == "/new":
            self.user, self.buttons = self._new_user(), ()
            print("-- new customer --", file=stdout)
            return True
        now = datetime.now(UTC)
        with store.transaction():
            due = turns.run_due(store, self.dialog, now)
        for result in due:
            self._show(result.step.outgoing, store, result.outbox_ids, stdout)
        payload, text = self._press(line)
        incoming = Incoming(
            channel=CHANNEL, user_id=self.user, event_id=uuid.uuid4().hex, received_at=now,
            text=text, payload=payload, profile=Profile(language_code=self.locale),
        )
        with store.transaction():
            handled = turns.handle_incoming(store, self.dialog, incoming, now)
        if handled is not None:
            self._show(handled.step.outgoing, store, handled.outbox_ids, stdout)
            case = handled.step.case
            if case is not None:
                print(f"   [{case.number} · {case.stage} · {case.category or '-'} · "
                      f"{case.severity}]", file=stdout)
        return True

    def _press(self, line: str) -> tuple[str | None, str]:
        stripped = line.strip()
        if stripped.isdigit() and self.buttons and 1 <= int(stripped) <= len(self.buttons):
            return self.buttons[int(stripped) - 1].payload, ""
        return None, line

    def _show(self, outgoing: list[Outgoing], store: Store, outbox_ids: list[int],
              stdout: TextIO) -> None:
        """Print the replies: the terminal is the delivery, so the outbox rows are sent."""
        for message in outgoing:
            for text_line in message.text.splitlines() or [""]:
                print(f"bot: {text_line}", file=stdout)
            if message.buttons:
                self.buttons = message.buttons
                labels = "  ".join(f"[{i}] {b.label}" for i, b in enumerate(message.buttons, 1))
                print(f"     {labels}", file=stdout)
        now = datetime.now(UTC)
        with store.transaction():
            for outbox_id in outbox_ids:
                store.mark_sent(outbox_id, now)
