"""The ITU-T G.107 E-model: a transmission rating R and a MOS for one run's playout.

Pure functions, no state. The formulas are G.107's (loss impairment with its burst ratio,
the R to MOS mapping) with its default values, and the usual simplification of its delay
impairment by Cole and Rosenbluth (2001); docs/yardstick.md cites the sources.

* ``loss_percent`` Ppl: audible events (late, dropped, stretched, lost) over events plus
  played frames, in percent.
* ``burst_ratio`` BurstR: G.107's two-state Markov burst ratio ``1 / (p + q)`` over the
  playout sequence, ``p = P(loss | previous ok)``, ``q = P(ok | previous loss)``; 1 without
  loss or with nothing but loss.
* ``delay_impairment`` Id of the mouth-to-ear delay Ta (ms):
  ``0.024 Ta + 0.11 (Ta - 177.3)`` above 177.3 ms, else ``0.024 Ta``.
* ``effective_equipment_impairment`` Ie_eff ``= Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)``
  (Ie = 0, Bpl = 25.1: G.711 with packet-loss concealment, G.113 Appendix I).
* ``r_factor`` ``R = 93.2 - Id - Ie_eff``, clamped to 0..100; ``mos`` of R.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DEFAULT_BPL",
    "DEFAULT_IE",
    "DELAY_KNEE_MS",
    "R0",
    "burst_ratio",
    "burst_ratio_of_counts",
    "delay_impairment",
    "effective_equipment_impairment",
    "loss_percent",
    "mos",
    "r_factor",
]

#: G.107's R with every default value and no impairment (Ro - Is with its defaults).
R0 = 93.2
#: Where the delay impairment steepens (Cole and Rosenbluth 2001), ms.
DELAY_KNEE_MS = 177.3
#: G.711 with packet-loss concealment (G.113 Appendix I).
DEFAULT_IE = 0.0
DEFAULT_BPL = 25.1


def loss_percent(events: int, played: int) -> float:
    """Ppl in percent: ``events / (events + played) x 100`` (0 when both are 0)."""
    total = events + played
    return 100.0 * events / total if total else 0.0


def burst_ratio(sequence: Iterable[bool]) -> float:
    """BurstR of a playout sequence (``True``: a loss event, ``False``: a frame played ok).

    ``p`` is the share of ok items followed by a loss, ``q`` the share of losses followed by
    an ok item (0 when nothing follows any ok item, or any loss); BurstR = ``1 / (p + q)``,
    and 1 when ``p + q`` is 0 (no loss, nothing but loss, or a single loss at the end).
    """
    after_ok = after_loss = ok_to_loss = loss_to_ok = 0
    previous: bool | None = None
    for loss in sequence:
        if previous is False:
            after_ok += 1
            ok_to_loss += loss
        elif previous is True:
            after_loss += 1
            loss_to_ok += not loss
        previous = loss
    return burst_ratio_of_counts(after_ok, ok_to_loss, after_loss, loss_to_ok)


def burst_ratio_of_counts(
    after_ok: int, ok_to_loss: int, after_loss: int, loss_to_ok: int
) -> float:
    """BurstR from the transition counts: ok items followed by anything (``after_ok``) and
    by a loss (``ok_to_loss``), losses followed by anything and by an ok item."""
    p = ok_to_loss / after_ok if after_ok else 0.0
    q = loss_to_ok / after_loss if after_loss else 0.0
    return 1.0 / (p + q) if p + q > 0 else 1.0


def delay_impairment(mouth_to_ear_ms: float) -> float:
    """Id of the mouth-to-ear delay ``Ta`` in ms (negative delays count as 0)."""
    ta = max(0.0, mouth_to_ear_ms)
    knee = 0.11 * (ta - DELAY_KNEE_MS) if ta > DELAY_KNEE_MS else 0.0
    return 0.024 * ta + knee


def effective_equipment_impairment(
    ppl: float, burst: float = 1.0, ie: float = DEFAULT_IE, bpl: float = DEFAULT_BPL
) -> float:
    """Ie_eff of ``ppl`` percent loss with burst ratio ``burst`` (> 0), codec ``ie`` and
    loss robustness ``bpl`` (> 0)."""
    if ppl <= 0:
        return ie
    return ie + (95.0 - ie) * ppl / (ppl / burst + bpl)


def r_factor(
    mouth_to_ear_ms: float,
    ppl: float,
    burst: float = 1.0,
    ie: float = DEFAULT_IE,
    bpl: float = DEFAULT_BPL,
) -> float:
    """R = 93.2 - Id - Ie_eff, clamped to 0..100."""
    r = R0 - delay_impairment(mouth_to_ear_ms)
    r -= effective_equipment_impairment(ppl, burst, ie, bpl)
    return min(100.0, max(0.0, r))


def mos(r: float) -> float:
    """G.107's MOS of R: 1 at R <= 0, 4.5 at R >= 100, else
    ``1 + 0.035 R + R (R - 60) (100 - R) x 7e-6``, held at 1 where that cubic dips just
    below it (R under 6.5), so that MOS never falls as R rises."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6)
