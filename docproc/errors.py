"""One exception type for every expected failure: a stage, a stable code, a message without content."""

from __future__ import annotations


class DocprocError(Exception):
    """An expected, classified failure of one document.

    `code` is stable and machine-readable (e.g. ``encrypted_pdf``); `message` must carry
    ids, paths and numbers only, never document text (PHI/PII rule).
    """

    def __init__(self, stage: str, code: str, message: str):
        super().__init__(f"{stage}/{code}: {message}")
        self.stage = stage
        self.code = code
        self.message = message

    def __reduce__(self):  # picklable across process pools and sandbox children
        return (type(self), (self.stage, self.code, self.message))

    def to_dict(self) -> dict:
        return {"stage": self.stage, "code": self.code, "message": self.message}
