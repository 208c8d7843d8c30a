"""Decision policies: pure functions of state and inputs (see :class:`Policy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adaptive_stream.policies.base import Policy
from adaptive_stream.policies.jetkvm import JetKVMParams, JetKVMPolicy, JetKVMState

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = ["POLICIES", "JetKVMParams", "JetKVMPolicy", "JetKVMState", "Policy", "make_policy"]

#: Policies by the name used in settings (``policy = "jetkvm"``) and on the command line.
POLICIES: dict[str, type[Any]] = {"jetkvm": JetKVMPolicy}


def make_policy(settings: AdaptiveBufferSettings) -> Policy[Any, Any]:
    """The policy the settings name, configured from them."""
    try:
        cls = POLICIES[settings.policy]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"policy: unknown policy {settings.policy!r} (known: {known})") from None
    policy: Policy[Any, Any] = cls.from_settings(settings)
    return policy
