"""The engine's errors. Each is a clear one-line message for the CLI; none is a traceback."""

from __future__ import annotations


class PolicyEngineError(Exception):
    """Base class: the CLI prints `error: <message>` (and a hint) and exits with `exit_code`."""

    exit_code = 2
    hint: str | None = None


class PolicyNotFound(PolicyEngineError):
    """No bundled or given policy for a region."""


class PolicyInvalid(PolicyEngineError):
    """The policy's rule files have errors; `policyengine check` lists them."""

    hint = "run `policyengine check` on the policy directory"


class NotInForce(PolicyEngineError):
    """The claim's date is before the policy's start: no rules apply."""


class RuleFailure(PolicyEngineError):
    """At run time the rules could not decide (no row applies where one must)."""

    exit_code = 3
    hint = (
        "`policyengine check` proves that a table declared `complete over …` has a row for "
        "every case; declare the table complete, or add the missing row"
    )
