"""Attachments: the photos and files customers sent, one row per file, on the case.

A row says what arrived (kind, original name), what was found (type by the bytes, size,
the sha256 naming the kept file) and what came of it (`stored`, or `refused` with the
reason). It is written in the turn's own transaction (`Store.apply`), beside the message
it came with, so the record and the transcript never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from bot.types import Attachment
from storage.sql import SqlBase
from storage.steps import ATTACHMENT_INSERT, attachment_row

COLUMNS = ("id", "case_number", "conversation_key", "message_id", "event_id", "kind", "mime",
           "size", "name", "sha256", "status", "reason", "at")


def migrate_attachments(db: sqlite_utils.Database) -> None:
    """The attachments table (its own table only; see docs/architecture.md)."""
    db.table("attachments").create({
        "id": int, "case_number": str, "conversation_key": str, "message_id": int,
        "event_id": str, "kind": str, "mime": str, "size": int, "name": str, "sha256": str,
        "status": str, "reason": str, "at": str,
    }, pk="id", if_not_exists=True)
    db.table("attachments").create_index(["case_number", "id"], if_not_exists=True)
    db.table("attachments").create_index(["message_id"], if_not_exists=True)
    # which kept files a desk (Discord) already posted in the case's thread
    db.table("desk_files").create({"desk": str, "attachment_id": int, "at": str},
                                  pk=("desk", "attachment_id"), if_not_exists=True)


class AttachmentStore(SqlBase):

    def add_attachment(self, case_number: str | None, conversation_key: str, message_id: int,
                       event_id: str, attachment: Attachment, at: datetime) -> int:
        return self._insert(ATTACHMENT_INSERT, attachment_row(
            case_number, conversation_key, message_id, event_id, attachment, at))

    def attachment(self, attachment_id: int) -> dict[str, Any] | None:
        row = self._x(f"SELECT {', '.join(COLUMNS)} FROM attachments WHERE id = ?",
                                (attachment_id,)).fetchone()
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    def case_attachments(self, case_number: str) -> list[dict[str, Any]]:
        rows = self._x(f"SELECT {', '.join(COLUMNS)} FROM attachments "
                                 "WHERE case_number = ? ORDER BY id", (case_number,)).fetchall()
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def unposted_attachments(self, desk: str, case_number: str) -> list[dict[str, Any]]:
        """The case's kept files `desk` has not posted yet, oldest first."""
        rows = self._x(
            f"SELECT {', '.join('a.' + c for c in COLUMNS)} FROM attachments a "
            "WHERE a.case_number = ? AND a.status = 'stored' AND NOT EXISTS (SELECT 1 FROM "
            "desk_files d WHERE d.desk = ? AND d.attachment_id = a.id) ORDER BY a.id",
            (case_number, desk)).fetchall()
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def mark_posted(self, desk: str, attachment_id: int, at: datetime) -> None:
        self._x("INSERT INTO desk_files (desk, attachment_id, at) "
                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (desk, attachment_id, at.isoformat()))
