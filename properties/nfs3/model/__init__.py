"""The model file system: the oracle the server properties compare every reply with.

A plain, obviously-correct NFSv3 file system (objects with model ids, a tree of names,
link counts, POSIX rename, durable and volatile file data) whose operations answer with
the set of statuses RFC 1813 allows, each judged pass or warn, so that the suite
classifies a server's deviation instead of failing on allowed variation. The modules, one
job each:

- objects.py: the objects (directories, regular files, symbolic links) and their ids.
- content.py: a regular file's bytes, and which of them a crash may take back.
- names.py: what the model answers for names that cannot be directory entries.
- verdict.py: Plans, Judgements (pass, warn) and ModelMismatch.
- fs.py: ModelFs, what an NFSv3 server must answer to each operation, as Plans.
"""

from properties.nfs3.model.content import Content
from properties.nfs3.model.fs import CreateHow, ModelFs, Path
from properties.nfs3.model.objects import (
    ROOT_ID,
    Directory,
    ModelObject,
    ObjectId,
    RegularFile,
    Symlink,
)
from properties.nfs3.model.verdict import (
    Judgement,
    ModelMismatch,
    Plan,
    Verdict,
)

__all__ = [
    "ROOT_ID",
    "Content",
    "CreateHow",
    "Directory",
    "Judgement",
    "ModelFs",
    "ModelMismatch",
    "ModelObject",
    "ObjectId",
    "Path",
    "Plan",
    "RegularFile",
    "Symlink",
    "Verdict",
]
