"""Fault injection: the emulator answers chosen calls with an error, or loses their answer."""

from __future__ import annotations

from .models import ApiError
from .state import EmulatorState, Fault

__all__ = ["FaultInjection"]

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: injected error",
    404: "Not Found",
    409: "Conflict: injected error",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FaultInjection(EmulatorState):
    """``fail_next`` and ``lose_answer_next`` arm faults; the entry point takes them."""

    def fail_next(
        self,
        method: str | None,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        ``method=None`` matches any method except getUpdates. 429 answers carry
        ``parameters.retry_after`` (default 1 s), which PTB raises as ``RetryAfter``.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (f"Too Many Requests: retry after {retry_after}" if status == 429
                           else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}"))
        self.faults.append(Fault(method.lower() if method else None, status, description,
                                 retry_after, times))

    def lose_answer_next(self, method: str | None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect, but their answer is lost: the
        bot sees a timeout (``method=None``: any method but getUpdates)."""
        key = method.lower() if method else None
        self.lost_answers[key] = self.lost_answers.get(key, 0) + times

    def take_lost_answer(self, method: str) -> bool:
        """Whether this call's answer is to be lost (used by the transports)."""
        lowered = method.lower()
        for key in (lowered, None):
            if key is None and lowered == "getupdates":
                continue
            if self.lost_answers.get(key, 0) > 0:
                self.lost_answers[key] -= 1
                return True
        return False

    def _take_fault(self, method: str) -> ApiError | None:
        lowered = method.lower()
        for fault in self.faults:
            matches = fault.method == lowered if fault.method else lowered != "getupdates"
            if matches:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                params = {"retry_after": fault.retry_after} if fault.retry_after else None
                return ApiError(fault.status, fault.description, params)
        return None
