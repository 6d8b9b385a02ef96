"""The Controller API's PostNotice and DeleteNotice request bodies (JS7's JSON, its v2.7.3 form too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from js7es.domain.commands import Command
from js7es.domain.commands.notices import DeleteNotice, PostNotice

MAX_MS = 253_402_300_799_999


class NoticeRequestError(ValueError):
    """Bad input, with the problem code to answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def notice_command(obj: Mapping[str, Any]) -> Command:
    """``{"TYPE": "PostNotice", "noticeId": ["BOARD", "KEY"], "endOfLife": ms}`` or the older
    ``{"TYPE": "PostNotice", "boardPath": "BOARD", "noticeId": "KEY", "endOfLife": ms}``; DeleteNotice the same
    without endOfLife."""
    type_ = obj["TYPE"]
    allowed = {"TYPE", "noticeId", "boardPath"} | ({"endOfLife"} if type_ == "PostNotice" else set())
    unknown = set(obj) - allowed
    if unknown:
        raise NoticeRequestError("UnknownField", f"{type_}: unknown field(s) {sorted(unknown)}")
    if "noticeId" not in obj:
        raise NoticeRequestError("MissingField", f"{type_}: missing field(s) ['noticeId']")
    given = obj["noticeId"]
    if "boardPath" in obj:  # COMPATIBLE with JS7 v2.7.3: a board path and a notice key
        if not isinstance(obj["boardPath"], str) or not isinstance(given, str):
            raise NoticeRequestError("InvalidRequest", f"{type_}: boardPath and noticeId must be strings")
        notice_id: tuple[str, ...] = (obj["boardPath"], given) if given else (obj["boardPath"],)
    elif isinstance(given, list) and all(isinstance(s, str) for s in given):
        notice_id = tuple(given)
    else:
        raise NoticeRequestError("InvalidRequest", f'{type_}.noticeId must be a NoticeId like ["BOARD", "KEY"]')
    if type_ == "DeleteNotice":
        return DeleteNotice(notice_id=notice_id)
    end_of_life = obj.get("endOfLife")
    if end_of_life is not None and (
        not isinstance(end_of_life, int) or isinstance(end_of_life, bool) or not 0 <= end_of_life <= MAX_MS
    ):
        raise NoticeRequestError("InvalidRequest", "PostNotice.endOfLife must be epoch milliseconds")
    return PostNotice(notice_id=notice_id, end_of_life=end_of_life)
