"""The operator calls' request handling without a Controller: JOC's notice id strings, bad input refused
with JOC's 420 JOC-400 before the Controller is asked, an unreachable Controller JOC-503 (the engine's side
is in test_operator_e2e.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.board.notice import notice_id_from_json
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api.joc import JocError
from js7es.nodes.cockpit.api.notices import notice_id_json, notice_text
from tests.cockpit.api.harness import Joc, running_joc

C = "js7es"


@pytest.mark.parametrize(
    ("text", "board", "expected", "shown"),
    [
        ("2024-11-25", "B", ("B", "2024-11-25"), "2024-11-25"),  # a global board's key
        ("Global/K", "B", ("B", "K"), "K"),
        ("DailyPlan/2024-11-25/K", "/f/B", ("DailyPlan", "2024-11-25", "/f/B", "K"), "DailyPlan/2024-11-25/K"),
        ("DailyPlan/2024-11-25", "B", ("DailyPlan", "2024-11-25", "B"), "DailyPlan/2024-11-25/-"),
        ("DailyPlan\u25712024-11-25\u2571\u2014", "B", ("DailyPlan", "2024-11-25", "B"), "DailyPlan/2024-11-25/-"),
        ("DailyPlan//2024-11-25/-", "B", ("DailyPlan", "2024-11-25", "B"), "DailyPlan/2024-11-25/-"),
    ],
)
def test_joc_notice_ids(text: str, board: str, expected: tuple[str, ...], shown: str) -> None:
    notice_id = notice_id_json(text, board)
    assert notice_id == expected
    assert notice_text(notice_id)[0] == shown
    assert not hasattr(notice_id_from_json(list(notice_id)), "code")  # one the Controller reads


def test_a_plan_without_key_is_refused() -> None:
    with pytest.raises(JocError) as e:
        notice_id_json("DailyPlan/", "B")
    assert e.value.code == "JOC-400"


def unreachable(controller_id: str) -> Any:
    raise ClientError(f"no Controller {controller_id} in this test")


@pytest.fixture(scope="module")
def joc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Joc, str]]:
    tmp_path: Path = tmp_path_factory.mktemp("operator-calls")
    with running_joc(tmp_path, make_client=unreachable) as j:
        yield j, j.login()


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/notices/post", {}, "give notices, or noticeBoardPaths and noticeId"),
        ("/notices/post", {"noticeBoardPaths": ["B"]}, "give notices, or noticeBoardPaths and noticeId"),
        ("/notices/post", {"noticeBoardPaths": ["B"], "noticeId": "K", "endOfLife": "soon"}, "endOfLife"),
        ("/notices/post", {"notices": []}, "$.notices"),
        ("/notices/delete", {"noticeBoardPath": "B"}, "give notices, or noticeBoardPath and noticeIds"),
        ("/notices/post/expected", {"expectedNotices": []}, "$.expectedNotices"),
        ("/notice/post", {"noticeBoardPath": "B", "noticeId": ""}, "$.noticeId"),
        ("/workflows/suspend", {}, "give workflowPaths, folders or all"),
        ("/workflows/resume", {"all": True, "workflowTags": ["t"]}, "workflowTags"),
        ("/workflow/skip", {"workflowPath": "W", "labels": []}, "$.labels"),
        ("/workflow/stop", {"workflowId": {"path": "W"}, "positions": []}, "$.positions"),
        ("/workflow/transition", {"workflowId": {"path": "W"}}, "workflowId.versionId"),
        ("/notice/boards", {"planSchemaIds": ["DailyPlan"]}, "planSchemaIds"),
    ],
)
def test_bad_input_is_joc_400_before_the_controller_is_asked(
    joc: tuple[Joc, str], path: str, body: dict[str, Any], message: str
) -> None:
    j, token = joc
    r = j.post(path, {"controllerId": C, **body}, token=token)
    assert r.status_code == 420, r.text
    error = r.json()["error"]
    assert error["code"] == "JOC-400" and message in error["message"], error


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/locks", {}),
        ("/lock", {"lockPath": "/L"}),
        ("/notice/boards", {}),
        ("/notices/post", {"noticeBoardPaths": ["B"], "noticeId": "K"}),
        ("/workflows/suspend", {"all": True}),
        ("/workflow/skip", {"workflowPath": "W", "labels": ["a"]}),
    ],
)
def test_an_unreachable_controller_is_joc_503(joc: tuple[Joc, str], path: str, body: dict[str, Any]) -> None:
    j, token = joc
    r = j.post(path, {"controllerId": C, **body}, token=token)
    assert r.status_code == 420, r.text
    assert r.json()["error"]["code"] == "JOC-503"


def test_openapi_declares_the_operator_calls_with_joc_s_permissions(joc: tuple[Joc, str]) -> None:
    j, _ = joc
    paths = j.client.get("/joc/api/openapi.json").json()["paths"]
    expected = {
        "/workflows/suspend": "orders:suspend_resume",
        "/workflows/resume": "orders:suspend_resume",
        "/workflow/skip": "orders:manage_positions",
        "/workflow/unskip": "orders:manage_positions",
        "/workflow/stop": "orders:manage_positions",
        "/workflow/unstop": "orders:manage_positions",
        "/workflow/transition": "orders:manage_positions",
        "/notices/post": "noticeboards:post",
        "/notices/post/expected": "noticeboards:post",
        "/notice/post": "noticeboards:post",
        "/notices/delete": "noticeboards:delete",
        "/notice/delete": "noticeboards:delete",
        "/notice/boards": "noticeboards:view",
        "/notice/board": "noticeboards:view",
        "/locks": "locks:view",
        "/lock": "locks:view",
    }
    for path, permission in expected.items():
        operation = paths[f"/joc/api{path}"]["post"]
        assert operation["x-permission"] == f"sos:products:controller:{permission}", path
        assert operation["x-controller-scoped"] is True, path
