"""Plans: acceptable statuses with verdicts, and effects that run only on NFS3_OK."""

import pytest

from properties.nfs3 import rules
from properties.nfs3.model import Judgement, Plan, Verdict
from properties.nfs3.model.verdict import Refusals
from reference.xdr.gen.nfs3 import (
    NFS3_OK,
    NFS3ERR_EXIST,
    NFS3ERR_IO,
    NFS3ERR_ISDIR,
    NFS3ERR_NOTSUPP,
)


def test_a_status_outside_the_plan_fails_and_names_what_was_expected() -> None:
    why = Refusals()
    why.add(rules.EXIST, "exists", NFS3ERR_EXIST)
    judgement = why.plan("CREATE a").judge(NFS3ERR_IO)
    assert judgement.verdict is Verdict.FAIL
    assert "NFS3ERR_EXIST" in judgement.reason and "NFS3ERR_IO" in judgement.reason
    assert judgement.rule is rules.EXIST  # the rule that made the model refuse


def test_an_error_where_success_was_expected_breaks_the_operations_refused_rule() -> None:
    judgement = Refusals().plan_or_ok("CREATE a", lambda: None).judge(NFS3ERR_IO)
    assert judgement.verdict is Verdict.FAIL
    assert judgement.rule is rules.refused("CREATE")
    assert judgement.rule.code == "CREATE-REFUSED"


def test_ok_where_a_refusal_was_expected_breaks_the_first_refusals_rule() -> None:
    why = Refusals()
    why.add(rules.STALE, "removed", NFS3ERR_EXIST)
    why.add(rules.READ_NOT_FILE, "a directory", NFS3ERR_ISDIR)
    assert why.plan("READ #0").judge(NFS3_OK).rule is rules.STALE


def test_the_best_verdict_of_a_status_wins() -> None:
    why = Refusals()
    why.warn(rules.REMOVE_DIR, "unusual", NFS3ERR_ISDIR, NFS3ERR_NOTSUPP)
    why.add(rules.REMOVE_DIR, "usual", NFS3ERR_ISDIR)
    plan: Plan[None] = why.plan("REMOVE d")
    assert plan.judge(NFS3ERR_ISDIR).verdict is Verdict.PASS
    assert plan.judge(NFS3ERR_NOTSUPP).verdict is Verdict.WARN


def test_the_effect_runs_only_on_ok_and_only_once() -> None:
    ran: list[int] = []

    def effect() -> int:
        ran.append(1)
        return 7

    why = Refusals()
    why.add(rules.EXIST, "maybe", NFS3ERR_EXIST)
    plan = why.plan_or_ok("CREATE a", effect, Judgement(Verdict.WARN, "odd"))
    assert plan.judge(NFS3_OK).verdict is Verdict.WARN
    assert plan.settle(NFS3_OK) == 7
    assert ran == [1]
    with pytest.raises(RuntimeError):
        plan.settle(NFS3_OK)


def test_an_error_changes_nothing() -> None:
    ran: list[int] = []
    plan = Refusals().plan_or_ok("CREATE a", lambda: ran.append(1))
    assert plan.settle(NFS3ERR_EXIST) is None
    assert ran == []


def test_settling_ok_where_it_is_not_allowed_is_a_bug_of_the_caller() -> None:
    why = Refusals()
    why.add(rules.EXIST, "exists", NFS3ERR_EXIST)
    with pytest.raises(RuntimeError):
        why.plan("CREATE a").settle(NFS3_OK)


def test_an_unknown_status_number_fails() -> None:
    assert Refusals().plan_or_ok("GETATTR", lambda: None).judge(12345).verdict is Verdict.FAIL
