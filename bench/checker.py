"""The delivery check every chat scenario ends with: lost, duplicated, out of order.

A receiver's stream for one room is the list of `seq` values it was handed, in the order
it got them. `expected` is every seq the room committed while the receiver listened (from
the senders' acks or the database). Pure functions, so tests/bench can feed each fault in.
"""

from dataclasses import dataclass, field


@dataclass
class Delivery:
    expected: int = 0
    received: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.out_of_order == 0

    def add(self, other: "Delivery") -> "Delivery":
        self.expected += other.expected
        self.received += other.received
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.out_of_order += other.out_of_order
        self.examples.extend(other.examples[: max(0, 5 - len(self.examples))])
        return self

    def as_dict(self) -> dict:
        return {
            "expected": self.expected,
            "received": self.received,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
        }


def check_stream(received: list[int], expected: set[int] | range, *, label: str = "") -> Delivery:
    """Compare one receiver's seq stream with the seqs it should have seen exactly once, ascending.

    - lost: an expected seq that never arrived;
    - duplicated: every arrival of a seq beyond its first;
    - out of order: an arrival whose seq is lower than one already delivered before it.
    Seqs outside `expected` (e.g. from before the receiver joined) are ignored.
    """
    expected = set(expected)
    result = Delivery(expected=len(expected))
    seen: set[int] = set()
    highest = None
    for seq in received:
        if seq not in expected:
            continue
        result.received += 1
        if seq in seen:
            result.duplicated += 1
            if len(result.examples) < 5:
                result.examples.append(f"{label} seq {seq} delivered twice")
            continue
        seen.add(seq)
        if highest is not None and seq < highest:
            result.out_of_order += 1
            if len(result.examples) < 5:
                result.examples.append(f"{label} seq {seq} arrived after {highest}")
        highest = seq if highest is None else max(highest, seq)
    missing = expected - seen
    result.lost = len(missing)
    if missing and len(result.examples) < 5:
        result.examples.append(f"{label} lost {len(missing)} (first {sorted(missing)[:5]})")
    return result


def check_sequence(seqs: list[int]) -> tuple[int, int]:
    """Gaps and duplicates in a room's stored seqs, which must be exactly 1..N."""
    ordered = sorted(seqs)
    duplicates = len(ordered) - len(set(ordered))
    if not ordered:
        return 0, 0
    unique = set(ordered)
    gaps = max(unique) - len(unique)  # numbers missing from 1..max
    return gaps, duplicates
