"""`python -m bench.profile_top var/bench/<run>/profile-<scenario>.txt [N]`

Summarise py-spy's collapsed stacks: where daphne spent its samples, by own frame
("self") and by any frame on the stack ("total"), project code first.
"""

import sys
from collections import Counter

PROJECT_PACKAGES = ("contorl/", "tasks/", "rooms/", "notifications/", "audit/", "planning/", "automation/")


def _is_project_frame(frame: str) -> bool:
    """py-spy names a frame `function (path:line)`, the path absolute or relative to the cwd."""
    path = frame.rpartition("(")[2]
    return ".venv" not in path and (path.startswith(PROJECT_PACKAGES) or "/work/main/" in path)


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    self_c, total_c = Counter(), Counter()
    samples = 0
    with open(path) as fh:
        lines = fh.readlines()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        idle = any(
            ("select" in f and "selectors.py" in f) or "epoll" in f or "_worker (concurrent" in f for f in frames[-2:]
        )
        if idle:
            self_c["<idle: waiting in select/queue>"] += n
            continue
        self_c[frames[-1]] += n
        for f in set(frames):
            total_c[f] += n
    print(f"{samples} samples")
    print("-- self --")
    for f, n in self_c.most_common(top):
        print(f"{100 * n / samples:5.1f}%  {f}")
    print("-- total (project code) --")
    own = [(f, n) for f, n in total_c.most_common() if _is_project_frame(f)]
    for f, n in own[:top]:
        print(f"{100 * n / samples:5.1f}%  {f}")
    print("-- total (all) --")
    for f, n in total_c.most_common(top):
        print(f"{100 * n / samples:5.1f}%  {f}")


if __name__ == "__main__":
    main()
