"""Decision policies: pure functions of state and inputs (see :class:`Policy`).

- ``jetkvm``: the firmware's decision, byte for byte (load and latency factors).
- ``feedback``: ours: grows fast on underruns, jitter and CPU load, shrinks slowly.
- ``oboe``, ``pulseaudio``, ``neteq``, ``roc``: reference policies, each the rule of a
  well-known audio stack, in frames (see each module for its simplifications).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adaptive_stream.policies.base import Policy
from adaptive_stream.policies.feedback import FeedbackParams, FeedbackPolicy, FeedbackState
from adaptive_stream.policies.jetkvm import JetKVMParams, JetKVMPolicy, JetKVMState
from adaptive_stream.policies.neteq import NetEqPolicy
from adaptive_stream.policies.oboe import OboePolicy
from adaptive_stream.policies.pulseaudio import PulseAudioPolicy
from adaptive_stream.policies.roc import RocPolicy

if TYPE_CHECKING:
    from adaptive_stream.settings import AdaptiveBufferSettings

__all__ = [
    "POLICIES",
    "FeedbackParams",
    "FeedbackPolicy",
    "FeedbackState",
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

#: Policies by the name used in settings (``policy = "jetkvm"``) and on the command line.
POLICIES: dict[str, type[Any]] = {
    "jetkvm": JetKVMPolicy,
    "feedback": FeedbackPolicy,
    "oboe": OboePolicy,
    "pulseaudio": PulseAudioPolicy,
    "neteq": NetEqPolicy,
    "roc": RocPolicy,
}


def make_policy(settings: AdaptiveBufferSettings) -> Policy[Any, Any]:
    """The policy the settings name, configured from them."""
    try:
        cls = POLICIES[settings.policy]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"policy: unknown policy {settings.policy!r} (known: {known})") from None
    policy: Policy[Any, Any] = cls.from_settings(settings)
    return policy
