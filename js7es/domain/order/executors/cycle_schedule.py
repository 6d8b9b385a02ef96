"""When the next cycle of a Cycle instruction starts (JS7's ScheduleCalculator), purely.

The admission periods come from js7es.domain.time.admission; this module only places the cycles in
them. Each scheme's periods are the admitted intervals of the order's day, merged, numbered in their
order within the day: a cycle state's `period_index` names one of them (JS7 numbers the periods as
the scheme lists them; the two agree unless periods of one scheme overlap or touch, which js7es
treats as one period).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from js7es.domain.order.cycle import CycleState
from js7es.domain.problem import Problem, problem
from js7es.domain.time.admission import TimeInterval, is_permitted, time_intervals
from js7es.domain.workflow.schedule import Continuous, Periodic, Schedule, Ticking

_MS = timedelta(milliseconds=1)
_LOCAL_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class KeepWaiting:
    pass


@dataclass(frozen=True, slots=True)
class StartCycle:
    skipped_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ChangeCycleState:
    cycle_state: CycleState


@dataclass(frozen=True, slots=True)
class EndCycling:
    pass


Do = KeepWaiting | StartCycle | ChangeCycleState | EndCycling


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleCalculator:
    schedule: Schedule
    zone: ZoneInfo
    day_start_ms: int  # the order's day, from its Calendar
    date_offset_s: int
    only_one_period: bool = False

    def initial_cycle_state(self, day_end_ms: int, now_ms: int) -> CycleState | None:
        """When cycling starts: the first cycle, or None when the day has none (JS7's readyEvents)."""
        initial = CycleState(end=day_end_ms, scheme_index=-1, period_index=-1, index=0, next=self.day_start_ms)
        return self.next_cycle_state(initial, now_ms)

    def next_cycle_state(self, state: CycleState, now_ms: int) -> CycleState | None:
        """After a cycle (or when it starts): the next cycle, or None when cycling ends."""
        found = self._next_cycle(state, now_ms)
        if found is None:
            return None
        scheme_index, period_index, next_ms = found
        period_changes = state.index != 0 and (scheme_index != state.scheme_index or period_index != state.period_index)
        if self.only_one_period and period_changes:
            return None
        return replace(
            state,
            scheme_index=scheme_index,
            period_index=period_index,
            index=1 if period_changes else state.index + 1,
            next=next_ms,
        )

    def on_next_cycle_is_due(self, state: CycleState, now_ms: int) -> Do | Problem:
        """What to do for an order between cycles now."""
        if not 0 <= state.scheme_index < len(self.schedule.schemes):
            return problem("InvalidCycleState", f"The schedule has no scheme {state.scheme_index}")
        scheme = self.schedule.schemes[state.scheme_index]
        skipped = 0
        if isinstance(scheme.repeat, Ticking):  # ticks missed at the start of a cycle are skipped
            skipped = max(0, _div(now_ms - state.next, scheme.repeat.interval_ms)) * scheme.repeat.interval_ms
        if now_ms < state.next + skipped:
            return KeepWaiting()
        if is_permitted(scheme.admission_time_scheme, now_ms, self.zone, self.date_offset_s):
            return StartCycle(skipped_ms=skipped or None)
        following = self.next_cycle_state(state, now_ms)
        return EndCycling() if following is None else ChangeCycleState(following)

    def _next_cycle(self, state: CycleState, now_ms: int) -> tuple[int, int, int] | None:
        """(scheme index, period index, next start) of the earliest next cycle of any scheme."""
        best: tuple[int, int, int] | None = None
        for scheme_index, scheme in enumerate(self.schedule.schemes):
            periods = time_intervals(
                scheme.admission_time_scheme, self.day_start_ms, state.end, self.zone, self.date_offset_s
            )
            for period_index, interval in enumerate(periods):
                if interval.end_ms <= now_ms:
                    continue  # JS7 looks at the current and next periods only
                is_first = scheme_index != state.scheme_index or period_index != state.period_index
                next_ms = self._next_in_period(scheme.repeat, state, interval, now_ms, is_first)
                fits = next_ms is not None and next_ms < min(state.end, interval.end_ms)
                if fits and next_ms is not None and (best is None or next_ms < best[2]):
                    best = (scheme_index, period_index, next_ms)
        return best

    def _next_in_period(
        self, repeat: Periodic | Ticking | Continuous, state: CycleState, period: TimeInterval, now: int, first: bool
    ) -> int | None:
        last = max(state.next, period.start_ms)
        match repeat:
            case Periodic():
                return self._next_periodic(repeat, last, now, first, min(state.end, period.end_ms))
            case Ticking(interval_ms=tick):
                ticks = _div(now - last, tick)
                if ticks > 0:  # late: the latest tick, the missed ones are not made up for
                    return last + ticks * tick
                return last + (0 if first else tick)
            case Continuous(pause_ms=pause, limit=limit):
                index = 0 if first else state.index
                if limit is not None and index >= limit:
                    return None
                next_ms = max(now, period.start_ms) + (0 if first else pause)
                return 0 if next_ms <= now else next_ms  # 0: at once (JS7's Timestamp.Epoch)

    def _next_periodic(self, periodic: Periodic, last: int, now: int, first: bool, end: int) -> int | None:
        """The offsets within each period, on the local wall clock from `last` on: if late, the latest
        one that has passed (the earlier missed ones are not made up for), else the earliest to come."""
        period = periodic.period_ms
        local = (datetime.fromtimestamp(0, UTC) + last * _MS).astimezone(self.zone).replace(tzinfo=None)
        local_ms = (local - _LOCAL_EPOCH) // _MS
        period_start, in_period = local_ms - local_ms % period, local_ms % period
        passed: int | None = None
        for i in range(0, 1 << 62):
            candidates = [offset + i * period for offset in periodic.offsets_ms]
            for t in candidates:
                if t < in_period or (t == in_period and not first):
                    continue
                instant = self._local_ms_to_instant(period_start + t)
                if instant >= end:
                    return passed
                if instant > now:
                    return passed if passed is not None else instant
                passed = instant
        return passed

    def _local_ms_to_instant(self, local_ms: int) -> int:
        # Java's LocalDateTime.atZone: fold=0, a time in a gap is pushed on by the gap
        local = (_LOCAL_EPOCH + local_ms * _MS).replace(tzinfo=self.zone)
        return (local - _UTC_EPOCH) // _MS


def _div(a: int, b: int) -> int:
    """Scala's Long division: truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q
