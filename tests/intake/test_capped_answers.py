"""A file with hundreds of mistakes gets the first MAX_PROBLEMS of them and one line that counts the rest,
wherever its problems go: the store, the answer by e-mail, the cycle's error notice, the status board page."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.units import default_registry
from bhxh.intake.limits import MAX_PROBLEMS
from bhxh.intake.problems import MORE_PROBLEMS, Problem, cap_problems
from bhxh.intake.submission import ingest
from bhxh.steps.messages import intake_messages
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import Submission
from bhxh.templating import render
from bhxh_bench.hostile_files import good_report


def _many_mistakes(folder):
    def edit(wb):
        ws = wb["Chỉ tiêu"]
        for row in range(12, 102):  # 90 rows, each an unknown code with text in both number columns
            ws.cell(row, 1, f"CT_{row}")
            ws.cell(row, 4, "nhiều")
            ws.cell(row, 5, "rất nhiều")
    return good_report(folder, edit=edit)


def test_the_list_is_capped_at_the_source_and_counted(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    init_store(url)
    path = _many_mistakes(tmp_path)
    with session_factory(url)() as session, session.begin():
        result = ingest(session, path.read_bytes(), path.name, dt.datetime(2019, 11, 1, tzinfo=dt.UTC))
        messages = intake_messages([result])
    assert result.error_count == 270 and len(result.errors) == MAX_PROBLEMS + 1
    closing = result.errors[-1]
    assert closing.code == MORE_PROBLEMS and "Và 220 lỗi khác" in closing.message_vi and "And 220 more" in closing.message_en
    with session_factory(url)() as session:
        sub = session.scalar(select(Submission))
        assert len(sub.errors) == MAX_PROBLEMS + 1 and sub.error_count == 270
    (mail,) = messages
    items = [line for line in mail.body.splitlines() if line.startswith("- ")]
    assert len(items) == MAX_PROBLEMS + 1 and items[-1].startswith("- Và 220 lỗi khác")
    assert "(And 220 more" in mail.body and len(mail.body) < 25_000


def test_the_cycle_notice_and_the_board_render_a_capped_list():
    catalogue, registry = default_catalogue(), default_registry()
    ob = catalogue.get("nq51_action_programme")
    cycle = catalogue.cycle(ob.id, "2019")
    problems = [Problem("not_a_number", f"Dòng {i}: không phải số.", f"Row {i}: not a number.", "Chỉ tiêu", i, "Thực hiện") for i in range(300)]
    errors = [p.as_dict() for p in cap_problems(problems)]
    unit = registry.get("bhxh_tinh_yen_bai")
    body = render("email/errors.txt.j2", obligation=ob, cycle=cycle, unit=unit, row=SimpleNamespace(received_at="01/11/2019 09:00", errors=errors))
    assert body.count("\n- ") == MAX_PROBLEMS + 1 and "Và 250 lỗi khác" in body and "And 250 more" in body
    page = render("status/tasks.html.j2", sub=SimpleNamespace(original_name="x.xlsx", received_at=None, status="rejected", id=1, unit_id=unit.id,
                                                            cycle_key="2019", obligation_id=ob.id),
                  tasks=[], unit_name=unit.name, errors=errors, submission_url="/nop/1", back_url="/")
    assert page.count("<li>") == MAX_PROBLEMS + 1 and "Và 250 lỗi khác" in page


def test_a_short_list_is_left_as_it_is():
    problems = [Problem("x", "a", "b", row=i) for i in range(MAX_PROBLEMS)]
    assert cap_problems(problems) == problems
    cut = cap_problems([Problem("row", "r", "r", row=1)] * 60 + [Problem("file", "f", "f")])
    assert cut[0].code == "file" and cut[-1].code == MORE_PROBLEMS  # what is wrong with the whole file comes first
