"""Search across cases: the conversation's words, the case number, the customer's name
and the order numbers, for the console's search box and `heard cases search`.

Two FTS5 indexes with the trigram tokenizer (Chinese has no spaces, so words cannot be
split; every three characters are indexed instead): `message_search` over what people
wrote (the customers' messages and the agents' replies, not the bot's texts), and
`case_search` over one `case_terms` row per case (number, customer's name, order
numbers, taken from the case record). Triggers keep both current in the same transaction
as every write, whoever writes. A term of three or more characters is looked up in the
index as one quoted phrase, so whatever a person types (quotes, `*`, `OR`, parentheses)
is text, never query syntax; a shorter term (退款, 貨) cannot be found by trigrams and is
matched with LIKE over the same text (a scan: fine for a desk's records, see
docs/search-and-labels.md). Every term must occur somewhere in a case.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.case import CaseState
from storage.sql import SqlBase

MAX_QUERY = 200      # characters
MAX_TERMS = 8
MAX_LIMIT = 100
SNIPPET_AROUND = 30  # characters of context either side of the match

_ORDERS = "(SELECT group_concat(value, ' ') FROM json_each({row}.record, '$.details.order_numbers'))"
_CUSTOMER = "json_extract({row}.record, '$.customer_name')"


class SearchError(ValueError):
    """A search that cannot be run as typed; the message says why."""


def migrate_search(db: sqlite_utils.Database) -> None:
    """Create the search indexes and their triggers, and index every existing record.
    Safe to run again on records that have them (everything is created if missing, and
    the indexes are rebuilt from what is kept)."""
    sql = db.execute
    sql("CREATE TABLE IF NOT EXISTS case_terms (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, "
        "customer TEXT, orders TEXT)")
    sql("CREATE VIRTUAL TABLE IF NOT EXISTS case_search USING fts5(number, customer, orders, "
        "content='case_terms', content_rowid='id', tokenize='trigram')")
    for statement in (*_PEOPLE_INDEX, *_TRIGGERS):
        sql(statement)
    sql("INSERT OR IGNORE INTO case_terms (number, customer, orders) SELECT c.number, "
        + _CUSTOMER.format(row="c") + ", " + _ORDERS.format(row="c") + " FROM cases c")
    sql("INSERT INTO case_search (case_search) VALUES ('rebuild')")
    sql("INSERT INTO message_search (message_search) VALUES ('rebuild')")


def migrate_people_search(db: sqlite_utils.Database) -> None:
    """Schema 12: the words index holds what people wrote (the customer, an agent), no
    longer the bot's own texts (see `PEOPLE`). The index is made again from what is kept."""
    for name in ("message_search_added", "message_search_changed", "message_search_removed"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute("DROP TABLE IF EXISTS message_search")
    for statement in _PEOPLE_INDEX:
        db.execute(statement)
    db.execute("INSERT INTO message_search (message_search) VALUES ('rebuild')")


_FTS_DELETE = ("INSERT INTO case_search (case_search, rowid, number, customer, orders) "
               "VALUES ('delete', OLD.id, OLD.number, OLD.customer, OLD.orders);")
_FTS_INSERT = ("INSERT INTO case_search (rowid, number, customer, orders) "
               "VALUES (NEW.id, NEW.number, NEW.customer, NEW.orders);")
_TRIGGERS = (
    # cases -> case_terms (only when the name or the order numbers changed)
    "CREATE TRIGGER IF NOT EXISTS case_terms_added AFTER INSERT ON cases BEGIN "
    "INSERT INTO case_terms (number, customer, orders) VALUES (NEW.number, "
    + _CUSTOMER.format(row="NEW") + ", " + _ORDERS.format(row="NEW") + ") "
    "ON CONFLICT(number) DO UPDATE SET customer = excluded.customer, "
    "orders = excluded.orders; END",
    "CREATE TRIGGER IF NOT EXISTS case_terms_changed AFTER UPDATE OF record ON cases WHEN "
    + _CUSTOMER.format(row="OLD") + " IS NOT " + _CUSTOMER.format(row="NEW")
    + " OR json_extract(OLD.record, '$.details.order_numbers') IS NOT "
    "json_extract(NEW.record, '$.details.order_numbers') BEGIN "
    "UPDATE case_terms SET customer = " + _CUSTOMER.format(row="NEW") + ", orders = "
    + _ORDERS.format(row="NEW") + " WHERE number = NEW.number; END",
    "CREATE TRIGGER IF NOT EXISTS case_terms_removed AFTER DELETE ON cases BEGIN "
    "DELETE FROM case_terms WHERE number = OLD.number; END",
    # case_terms -> case_search
    "CREATE TRIGGER IF NOT EXISTS case_search_added AFTER INSERT ON case_terms BEGIN " + _FTS_INSERT + " END",
    "CREATE TRIGGER IF NOT EXISTS case_search_changed AFTER UPDATE ON case_terms BEGIN "
    + _FTS_DELETE + _FTS_INSERT + " END",
    "CREATE TRIGGER IF NOT EXISTS case_search_removed AFTER DELETE ON case_terms BEGIN "
    + _FTS_DELETE + " END",
)

# Only what people wrote is searched: the customer's messages and an agent's replies. The
# bot's own texts are the dialog's, much alike in every case (a search for 訂單 or 退款 would
# find them all), and they were two thirds of the index: every turn indexed them under the
# write lock (0.14 of 0.79 ms of a first message's turn, in process). What they say about
# the case (the product, the order number) comes from the customer's words, which are here.
# PostgreSQL's search and its partial trigram index use the same condition (`row`: the
# messages table's name or alias).
PEOPLE = "{row}.text IS NOT NULL AND ({row}.direction = 'in' OR {row}.kind = 'agent')"
_PEOPLE_INDEX = (
    "CREATE VIEW IF NOT EXISTS people_said AS SELECT id, case_number, text FROM messages m "
    "WHERE " + PEOPLE.format(row="m"),
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(text, content='people_said', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS message_search_added AFTER INSERT ON messages WHEN "
    + PEOPLE.format(row="NEW")
    + " BEGIN INSERT INTO message_search (rowid, text) VALUES (NEW.id, NEW.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_search_changed AFTER UPDATE OF text, direction, kind "
    "ON messages BEGIN INSERT INTO message_search (message_search, rowid, text) "
    "SELECT 'delete', OLD.id, OLD.text WHERE " + PEOPLE.format(row="OLD") + "; "
    "INSERT INTO message_search (rowid, text) SELECT NEW.id, NEW.text WHERE "
    + PEOPLE.format(row="NEW") + "; END",
    "CREATE TRIGGER IF NOT EXISTS message_search_removed AFTER DELETE ON messages WHEN "
    + PEOPLE.format(row="OLD") + " BEGIN INSERT INTO message_search (message_search, rowid, "
    "text) VALUES ('delete', OLD.id, OLD.text); END",
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A case that matched, and where: `field` is message, number, customer or order;
    `who` (customer, agent) for a message; `snippet` is the matched text around."""

    case: CaseState
    field: str
    snippet: str
    who: str | None = None


def search_terms(query: str) -> list[str]:
    """The words of a query (split at spaces), or a `SearchError` saying what to fix."""
    if len(query) > MAX_QUERY:
        raise SearchError(f"the search is {len(query)} characters; at most {MAX_QUERY} fit")
    terms = list(dict.fromkeys(query.split()))
    if not terms:
        raise SearchError("type a case number, a name, an order number or words to find")
    if len(terms) > MAX_TERMS:
        raise SearchError(f"the search has {len(terms)} words; at most {MAX_TERMS} are used")
    return terms


class SearchStore(SqlBase):
    """Mixed into `Store`: finding cases by what was said and who and what they are about."""


    def search_cases(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Cases where every word of `query` occurs, newest first, at most `limit`."""
        terms = search_terms(query)
        limit = max(1, min(int(limit), MAX_LIMIT))
        clauses, params = [], []
        for term in terms:
            parts = [self._term_cases(form) for form in _forms(term)]
            clauses.append(f"number IN ({' UNION '.join(sql for sql, _ in parts)})")
            params += [arg for _, args in parts for arg in args]
        rows = self._x(
            f"SELECT record FROM cases WHERE {' AND '.join(clauses)} "
            "ORDER BY received_ts DESC, number DESC LIMIT ?", [*params, limit]).fetchall()
        forms = [form for term in terms for form in _forms(term)]
        return [self._hit(CaseState.from_record(json.loads(r[0])), forms) for r in rows]

    def _hit(self, case: CaseState, terms: list[str]) -> SearchHit:
        """Where the case matched: the newest message a person wrote (the customer, an
        agent) with a word of the search, else the case's own fields."""
        rows = self._x(
            "SELECT text, direction FROM messages m WHERE case_number = ? AND "
            + PEOPLE.format(row="m") + " ORDER BY id DESC", (case.number,)).fetchall()
        for text, direction in rows:
            found = _find(text, terms)
            if found is not None:
                who = "customer" if direction == "in" else "agent"
                return SearchHit(case, "message", _snippet(text, *found), who)
        orders = " ".join(case.details.get("order_numbers", []))
        for name, value in (("order", orders), ("customer", case.customer_name or ""),
                            ("number", case.number)):
            if _find(value, terms) is not None:
                return SearchHit(case, name, value)
        return SearchHit(case, "number", case.number)

    def _term_cases(self, term: str) -> tuple[str, list[Any]]:
        return fts_term_cases(term)

    def labels_in_use(self) -> dict[str, int]:
        """Every label on some case, with how many cases carry it (most used first)."""
        return {str(name): int(n) for name, n in self._x(self.LABELS_IN_USE)}


def _forms(term: str) -> list[str]:
    """The term as typed and, if different, its half-width form: ＴＷ８８２３１ typed on a
    phone keyboard finds TW88231, and the other way round through the case's order numbers
    (kept half-width)."""
    folded = unicodedata.normalize("NFKC", term)
    return [term, folded] if folded != term and folded.strip() else [term]


def fts_term_cases(term: str) -> tuple[str, list[Any]]:
    """SQL for the case numbers where `term` occurs, and its parameters (SQLite: FTS5)."""
    if len(term) >= 3:
        phrase = '"' + term.replace('"', '""') + '"'
        return ("SELECT m.case_number FROM message_search JOIN messages m "
                "ON m.id = message_search.rowid WHERE message_search MATCH ? "
                "UNION SELECT t.number FROM case_search JOIN case_terms t "
                "ON t.id = case_search.rowid WHERE case_search MATCH ?", [phrase, phrase])
    like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return ("SELECT case_number FROM people_said WHERE text LIKE ? ESCAPE '\\' "
            "UNION SELECT number FROM case_terms WHERE number LIKE ? ESCAPE '\\' "
            "OR customer LIKE ? ESCAPE '\\' OR orders LIKE ? ESCAPE '\\'",
            [like, like, like, like])


def _find(text: str, terms: list[str]) -> tuple[int, int] | None:
    """The first place in `text` where one of the terms occurs (ignoring case)."""
    folded = text.lower()
    places = [(folded.find(t.lower()), len(t)) for t in terms]
    places = [p for p in places if p[0] >= 0]
    return min(places) if places else None


def _snippet(text: str, start: int, length: int) -> str:
    """The match with some context either side, on one line."""
    begin, end = max(0, start - SNIPPET_AROUND), min(len(text), start + length + SNIPPET_AROUND)
    middle = " ".join(text[begin:end].split())
    return ("…" if begin > 0 else "") + middle + ("…" if end < len(text) else "")

