"""What is wrong with a manifest: :class:`Problem` (where and what) and :class:`ManifestError` (all of them)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from stratus.errors import StratusError
from stratus.manifest.schema import MANIFEST_NAME


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the manifest: where (``services.worker.memory``) and what."""

    location: str
    message: str

    def render(self, file: str = MANIFEST_NAME) -> str:
        return f"{file}: {self.location}: {self.message}" if self.location else f"{file}: {self.message}"


class ManifestError(StratusError):
    """The manifest cannot be used as written; ``problems`` lists every reason."""

    exit_code = 2

    def __init__(self, problems: list[Problem], file: str = MANIFEST_NAME) -> None:
        self.problems = problems
        self.file = file
        lines = [p.render(file) for p in problems]
        super().__init__(
            "\n".join(lines),
            hint=f"fix the {len(problems)} problem{'s' * (len(problems) != 1)} above in {file}",
        )


def problems_from(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        where = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(model, err["loc"][:-1])
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(allowed)}"
            problems.append(Problem(where, f"unknown field{hint}"))
        elif err["type"] == "missing":
            problems.append(Problem(where, "required field is missing"))
        elif err["type"] == "literal_error":
            problems.append(Problem(where, f"must be one of {err['ctx']['expected']} (got {err['input']!r})"))
        else:
            msg = err["msg"]
            msg = msg.removeprefix("Value error, ")
            problems.append(Problem(where, msg[0].lower() + msg[1:] if msg else msg))
    return problems


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
