"""Decision policies: pure functions of state and inputs (see :class:`Policy`).

- ``jetkvm``: the firmware's decision, byte for byte (load and latency factors).
- ``feedback``: ours: grows fast on underruns, jitter and CPU load, shrinks slowly.
- ``oboe``, ``pulseaudio``, ``neteq``, ``roc``: reference policies, each the rule of a
  well-known audio stack, in frames (see each module for its simplifications).
- ``fixed``: a baseline: holds ``default_buffer_size``, never adapts.

Only ``jetkvm`` is imported with this package: the others are imported when first named
(``POLICIES["feedback"]``, ``from adaptive_stream.policies import FeedbackPolicy``), so a
plain replay does not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from adaptive_stream.policies.base import Policy
from adaptive_stream.policies.jetkvm import JetKVMParams, JetKVMPolicy, JetKVMState

if TYPE_CHECKING:
    from adaptive_stream.policies.feedback import FeedbackParams, FeedbackPolicy, FeedbackState
    from adaptive_stream.policies.fixed import FixedPolicy
    from adaptive_stream.policies.neteq import NetEqPolicy
    from adaptive_stream.policies.oboe import OboePolicy
    from adaptive_stream.policies.pulseaudio import PulseAudioPolicy
    from adaptive_stream.policies.roc import RocPolicy
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "POLICIES",
    "FeedbackParams",
    "FeedbackPolicy",
    "FeedbackState",
    "FixedPolicy",
    "JetKVMParams",
    "JetKVMPolicy",
    "JetKVMState",
    "NetEqPolicy",
    "OboePolicy",
    "Policy",
    "PulseAudioPolicy",
    "RocPolicy",
    "make_policy",
]

#: Where each policy (and each public name of theirs) lives, imported on first use.
_LAZY = {
    "FeedbackParams": "adaptive_stream.policies.feedback",
    "FeedbackPolicy": "adaptive_stream.policies.feedback",
    "FeedbackState": "adaptive_stream.policies.feedback",
    "FixedPolicy": "adaptive_stream.policies.fixed",
    "NetEqPolicy": "adaptive_stream.policies.neteq",
    "OboePolicy": "adaptive_stream.policies.oboe",
    "PulseAudioPolicy": "adaptive_stream.policies.pulseaudio",
    "RocPolicy": "adaptive_stream.policies.roc",
}


class _PolicyRegistry(MutableMapping[str, type[Any]]):
    """Policy classes by name, each imported when first looked up. Names and membership
    need no import; assigning a class registers a policy of your own."""

    def __init__(self, entries: dict[str, type[Any] | str]) -> None:
        self._entries = entries

    def __getitem__(self, name: str) -> type[Any]:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = __getattr__(entry)
        return entry

    def __setitem__(self, name: str, cls: type[Any]) -> None:
        self._entries[name] = cls

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"POLICIES({', '.join(self._entries)})"


#: Policies by the name used in settings (``policy = "jetkvm"``) and on the command line.
POLICIES: MutableMapping[str, type[Any]] = _PolicyRegistry(
    {
        "jetkvm": JetKVMPolicy,
        "feedback": "FeedbackPolicy",
        "oboe": "OboePolicy",
        "pulseaudio": "PulseAudioPolicy",
        "neteq": "NetEqPolicy",
        "roc": "RocPolicy",
        "fixed": "FixedPolicy",
    }
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adaptive_stream.policies' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def make_policy(settings: AdaptiveBufferSettings) -> Policy[Any, Any]:
    """The policy the settings name, configured from them."""
    try:
        cls = POLICIES[settings.policy]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"policy: unknown policy {settings.policy!r} (known: {known})") from None
    policy: Policy[Any, Any] = cls.from_settings(settings)
    return policy
