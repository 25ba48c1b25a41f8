"""The model file system: the tree, link counts, POSIX rename, and the statuses it allows."""

from __future__ import annotations

from typing import TypeVar, cast

from properties.nfs3.model import ROOT_ID, CreateHow, ModelFs, ObjectId, Plan, RegularFile, Verdict
from reference.xdr.gen.nfs3 import (
    EXCLUSIVE,
    GUARDED,
    NFS3_OK,
    NFS3ERR_EXIST,
    NFS3ERR_INVAL,
    NFS3ERR_ISDIR,
    NFS3ERR_NAMETOOLONG,
    NFS3ERR_NOENT,
    NFS3ERR_NOTDIR,
    NFS3ERR_NOTEMPTY,
    NFS3ERR_PERM,
    NFS3ERR_SERVERFAULT,
    NFS3ERR_STALE,
    UNCHECKED,
    nfsstat3,
)

T = TypeVar("T")
FILE = CreateHow(GUARDED, file_mode=0o644)


def ok(plan: Plan[T]) -> T:
    """Settle a plan whose preferred answer is NFS3_OK; the effect's value."""
    assert plan.judge(NFS3_OK).verdict is Verdict.PASS, plan.allowed
    return cast(T, plan.settle(NFS3_OK))


def passes(plan: Plan[T]) -> set[nfsstat3]:
    return {s for s, j in plan.allowed.items() if j.verdict is Verdict.PASS}


def test_create_then_lookup_finds_the_same_object() -> None:
    fs = ModelFs()
    created = ok(fs.create(ROOT_ID, b"a", FILE))
    assert ok(fs.lookup(ROOT_ID, b"a")) == created
    assert passes(fs.lookup(ROOT_ID, b"b")) == {NFS3ERR_NOENT}
    assert fs.paths() == {(): ROOT_ID, (b"a",): created}


def test_guarded_create_of_an_existing_name_is_exist_and_unchecked_reuses_the_file() -> None:
    fs = ModelFs()
    created = ok(fs.create(ROOT_ID, b"a", FILE))
    ok(fs.write(created, 0, b"data", durable=True))
    assert set(fs.create(ROOT_ID, b"a", FILE).allowed) == {NFS3ERR_EXIST}
    again = ok(fs.create(ROOT_ID, b"a", CreateHow(UNCHECKED, file_mode=0o644, truncate=True)))
    assert again == created
    assert ok(fs.read(created, 0, 10)) == b""


def test_exclusive_create_succeeds_again_with_its_verifier_only() -> None:
    fs = ModelFs()
    first = ok(fs.create(ROOT_ID, b"a", CreateHow(EXCLUSIVE, verifier=b"v" * 8)))
    assert ok(fs.create(ROOT_ID, b"a", CreateHow(EXCLUSIVE, verifier=b"v" * 8))) == first
    assert set(fs.create(ROOT_ID, b"a", CreateHow(EXCLUSIVE, verifier=b"w" * 8)).allowed) == {
        NFS3ERR_EXIST
    }
    ok(fs.write(first, 0, b"x", durable=True))
    retry = fs.create(ROOT_ID, b"a", CreateHow(EXCLUSIVE, verifier=b"v" * 8))
    assert passes(retry) == {NFS3_OK, NFS3ERR_EXIST}  # the verifier may live in the times


def test_mkdir_counts_links_and_rmdir_needs_an_empty_directory() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    ok(fs.mkdir(d, b"e", 0o755))
    assert fs.nlink(fs[ROOT_ID]) == 3
    assert passes(fs.rmdir(ROOT_ID, b"d")) == {NFS3ERR_NOTEMPTY, NFS3ERR_EXIST}
    ok(fs.rmdir(d, b"e"))
    ok(fs.rmdir(ROOT_ID, b"d"))
    assert fs.nlink(fs[ROOT_ID]) == 2
    assert not fs[d].alive


def test_remove_of_a_directory_is_refused_and_never_of_dot() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    plan = fs.remove(ROOT_ID, b"d")
    assert {NFS3ERR_ISDIR, NFS3ERR_PERM} <= passes(plan)
    assert plan.judge(NFS3_OK).verdict is Verdict.WARN  # RFC 1813 allows it, empty
    ok(fs.create(d, b"f", FILE))
    assert fs.remove(ROOT_ID, b"d").judge(NFS3_OK).verdict is Verdict.FAIL
    assert fs.remove(ROOT_ID, b".").judge(NFS3_OK).verdict is Verdict.FAIL
    assert fs.rmdir(d, b"..").judge(NFS3_OK).verdict is Verdict.FAIL


def test_hard_links_count_names_and_the_last_remove_kills_the_file() -> None:
    fs = ModelFs()
    f = ok(fs.create(ROOT_ID, b"a", FILE))
    ok(fs.link(f, ROOT_ID, b"b"))
    assert fs.nlink(fs[f]) == 2
    ok(fs.remove(ROOT_ID, b"a"))
    assert fs[f].alive
    ok(fs.remove(ROOT_ID, b"b"))
    assert not fs[f].alive
    assert passes(fs.getattr(f)) == {NFS3ERR_STALE}
    assert fs.getattr(f).judge(NFS3_OK).verdict is Verdict.WARN
    assert fs.link(f, ROOT_ID, b"c").judge(NFS3_OK).verdict is Verdict.FAIL


def test_link_to_a_directory_is_refused() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    plan = fs.link(d, ROOT_ID, b"e")
    assert NFS3ERR_PERM in passes(plan)
    assert plan.judge(NFS3_OK).verdict is Verdict.FAIL


def test_rename_replaces_a_file_atomically() -> None:
    fs = ModelFs()
    a = ok(fs.create(ROOT_ID, b"a", FILE))
    b = ok(fs.create(ROOT_ID, b"b", FILE))
    ok(fs.rename(ROOT_ID, b"a", ROOT_ID, b"b"))
    assert fs.paths() == {(): ROOT_ID, (b"b",): a}
    assert not fs[b].alive


def test_rename_onto_another_link_of_the_same_file_changes_nothing() -> None:
    fs = ModelFs()
    a = ok(fs.create(ROOT_ID, b"a", FILE))
    ok(fs.link(a, ROOT_ID, b"b"))
    ok(fs.rename(ROOT_ID, b"a", ROOT_ID, b"b"))
    assert fs.paths() == {(): ROOT_ID, (b"a",): a, (b"b",): a}


def test_rename_type_and_emptiness_rules() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    ok(fs.mkdir(ROOT_ID, b"e", 0o755))
    ok(fs.create(ROOT_ID, b"f", FILE))
    assert passes(fs.rename(ROOT_ID, b"d", ROOT_ID, b"f")) == {NFS3ERR_EXIST, NFS3ERR_NOTDIR}
    assert passes(fs.rename(ROOT_ID, b"f", ROOT_ID, b"d")) == {NFS3ERR_EXIST, NFS3ERR_ISDIR}
    assert passes(fs.rename(ROOT_ID, b"d", d, b"x")) == {NFS3ERR_INVAL}
    ok(fs.create(d, b"x", FILE))
    assert passes(fs.rename(ROOT_ID, b"e", ROOT_ID, b"d")) == {NFS3ERR_EXIST, NFS3ERR_NOTEMPTY}
    # a file over a full directory: both refusals apply, in no order (Ganesha: NOTEMPTY)
    expected = {NFS3ERR_EXIST, NFS3ERR_ISDIR, NFS3ERR_NOTEMPTY}
    assert passes(fs.rename(ROOT_ID, b"f", ROOT_ID, b"d")) == expected
    ok(fs.rename(ROOT_ID, b"d", ROOT_ID, b"e"))
    assert fs.paths()[(b"e", b"x")] is not None
    assert passes(fs.rename(ROOT_ID, b"zz", ROOT_ID, b"y")) == {NFS3ERR_NOENT}


def test_rename_moves_a_directory_and_its_parent() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    e = ok(fs.mkdir(ROOT_ID, b"e", 0o755))
    ok(fs.rename(ROOT_ID, b"e", d, b"e"))
    assert ok(fs.lookup(e, b"..")) == d
    assert fs.nlink(fs[d]) == 3


def test_an_error_with_the_handle_of_an_object_rename_moved_breaks_handle_moved() -> None:
    fs = ModelFs()
    parent = ok(fs.mkdir(ROOT_ID, b"p", 0o755))
    child = ok(fs.mkdir(parent, b"c", 0o755))
    before = fs.mkdir(child, b"x", 0o755)
    assert not before.moved and before.broken_rule(NFS3ERR_NOENT).code == "MKDIR-REFUSED"
    ok(fs.rename(ROOT_ID, b"p", ROOT_ID, b"q"))
    made_after = ok(fs.mkdir(parent, b"new", 0o755))
    after = fs.mkdir(child, b"x", 0o755)
    assert after.moved and after.broken_rule(NFS3ERR_NOENT).code == "HANDLE-MOVED"
    assert "RENAME moved" in after.judge(NFS3ERR_NOENT).reason
    assert after.broken_rule(NFS3ERR_STALE).code == "HANDLE-MOVED"
    assert not fs.getattr(made_after).moved  # its handle names the new path
    assert not fs.getattr(ROOT_ID).moved
    renamed_onto_itself = ok(fs.create(ROOT_ID, b"f", FILE))
    ok(fs.rename(ROOT_ID, b"f", ROOT_ID, b"f"))
    assert fs.getattr(renamed_onto_itself).moved


def test_a_create_over_a_symlink_answers_for_the_link() -> None:
    """Any answer but EXIST (or BADTYPE's warning) is the link followed: Ganesha answers
    ISDIR for a link to a directory and SERVERFAULT for a link to itself."""
    fs = ModelFs()
    ok(fs.symlink(ROOT_ID, b"a", b"a"))
    create = fs.create(ROOT_ID, b"a", CreateHow(UNCHECKED, file_mode=0o644))
    assert create.judge(NFS3ERR_EXIST).verdict is Verdict.PASS
    for followed in (NFS3ERR_SERVERFAULT, NFS3ERR_ISDIR, NFS3_OK):
        judged = create.judge(followed)
        assert judged.verdict is Verdict.FAIL
        assert judged.rule is not None and judged.rule.code == "CREATE-FOLLOWS-SYMLINK"


def test_a_read_may_lose_an_exclusive_create_s_verifier() -> None:
    """Servers keep the verifier in atime/mtime (Ganesha, knfsd), and a READ may set atime:
    a retried EXCLUSIVE create with the same verifier may then answer EXIST."""
    fs = ModelFs()
    how = CreateHow(EXCLUSIVE, verifier=b"v" * 8)
    created = ok(fs.create(ROOT_ID, b"a", how))
    assert fs.create(ROOT_ID, b"a", how).judge(NFS3ERR_EXIST).verdict is Verdict.FAIL
    ok(fs.read(created, 0, 10))
    assert fs.create(ROOT_ID, b"a", how).judge(NFS3ERR_EXIST).verdict is Verdict.PASS


def test_bad_names() -> None:
    fs = ModelFs()
    assert passes(fs.create(ROOT_ID, b"x" * 256, FILE)) == {NFS3ERR_NAMETOOLONG}
    assert NFS3ERR_INVAL in passes(fs.mkdir(ROOT_ID, b"a/b", 0o755))
    assert fs.mkdir(ROOT_ID, b"", 0o755).judge(NFS3_OK).verdict is Verdict.FAIL
    assert NFS3ERR_EXIST in passes(fs.mkdir(ROOT_ID, b"..", 0o755))


def test_operations_on_the_wrong_type() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    f = ok(fs.create(ROOT_ID, b"f", FILE))
    s = ok(fs.symlink(ROOT_ID, b"s", b"f"))
    assert passes(fs.lookup(f, b"a")) == {NFS3ERR_NOTDIR}
    assert NFS3ERR_ISDIR in passes(fs.read(d, 0, 1))
    assert passes(fs.write(s, 0, b"x", durable=True)) == {NFS3ERR_INVAL}
    assert ok(fs.readlink(s)) == b"f"
    assert passes(fs.readlink(f)) == {NFS3ERR_INVAL}
    assert passes(fs.rmdir(ROOT_ID, b"f")) == {NFS3ERR_NOTDIR}


def test_a_removed_directory_accepts_nothing_new() -> None:
    fs = ModelFs()
    d = ok(fs.mkdir(ROOT_ID, b"d", 0o755))
    ok(fs.rmdir(ROOT_ID, b"d"))
    plan = fs.create(d, b"a", FILE)
    assert passes(plan) == {NFS3ERR_STALE}
    assert plan.judge(NFS3_OK).verdict is Verdict.FAIL


def test_setattr_mode_and_size() -> None:
    fs = ModelFs()
    f = ok(fs.create(ROOT_ID, b"f", FILE))
    ok(fs.setattr(f, 0o100751, 3))
    obj = fs[f]
    assert isinstance(obj, RegularFile)
    assert obj.mode == 0o751
    assert ok(fs.read(f, 0, 10)) == b"\0\0\0"
    assert fs.setattr(ROOT_ID, None, 0).judge(NFS3ERR_ISDIR).verdict is Verdict.PASS


def test_ids_are_never_reused() -> None:
    fs = ModelFs()
    first = ok(fs.create(ROOT_ID, b"a", FILE))
    ok(fs.remove(ROOT_ID, b"a"))
    second: ObjectId = ok(fs.create(ROOT_ID, b"a", FILE))
    assert second != first


def test_every_failed_precondition_of_a_rename_is_acceptable() -> None:
    fs = ModelFs()
    assert {NFS3ERR_NAMETOOLONG, NFS3ERR_INVAL} <= passes(
        fs.rename(ROOT_ID, b".", ROOT_ID, b"n" * 256)
    )
    assert passes(fs.rename(ROOT_ID, b"zz", ROOT_ID, b"n" * 256)) == {
        NFS3ERR_NOENT,
        NFS3ERR_NAMETOOLONG,
    }
