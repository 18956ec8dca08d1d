"""Demo data for resource planning (called by `manage.py seed_demo` after tasks; safe to run again).

One portfolio with two programs (LINE3 and PACK1 linked, one each), three worker types with
rates (the welder rate changes mid-month, so costs show a rate change), four workers (two
users, two external contractors, one with leave), phases on LINE3, a month of assignments
(one worker deliberately over-allocated on a few days) and actuals up to yesterday. All
through the services, so versions, audit entries and costs are real.
"""

import datetime
from decimal import Decimal

from django.db import transaction

from tasks.models import Project

from . import services
from .models import Portfolio, Worker, WorkerType

PORTFOLIO = "Plant modernisation 2026"
TYPES = [
    ("Welder", "Certified MIG/TIG welder", [("38.50", -60, 13), ("42.00", 14, None)]),
    ("PLC engineer", "Siemens/Rockwell PLC programming", [("65.00", -60, None)]),
    ("Electrician", "Industrial electrician", [("45.00", -60, None)]),
]


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def seed(users: dict, stdout) -> None:
    alice, bob, carol, dave = (users.get(n) for n in ("alice", "bob", "carol", "dave"))
    line3, pack1 = Project.objects.filter(key="LINE3").first(), Project.objects.filter(key="PACK1").first()
    if not all((alice, bob, carol, dave, line3, pack1)):
        stdout.write("planning: demo users or projects missing, skipped")
        return
    if Portfolio.objects.filter(name=PORTFOLIO).exists():
        return
    admin = users.get("admin") or alice
    start = _monday(datetime.date.today()) - datetime.timedelta(days=14)
    with transaction.atomic():
        portfolio = services.portfolio_create(by=admin, name=PORTFOLIO, description="Line retrofits and packaging.")
        lines = services.program_create(by=admin, portfolio=portfolio, name="Line upgrades")
        packing = services.program_create(by=admin, portfolio=portfolio, name="Packaging automation")
        services.link_create(by=admin, project=line3, program=lines)
        services.link_create(by=admin, project=pack1, program=packing)
        services.grant_create(by=admin, user=alice, role="manager", portfolio=portfolio)
        services.grant_create(by=admin, user=dave, role="viewer", program=lines)

        types = {}
        for name, description, rates in TYPES:
            worker_type = WorkerType.objects.filter(name=name).first() or services.worker_type_create(
                by=admin, name=name, description=description
            )
            types[name] = worker_type
            for cost, first, last in rates:
                services.rate_create(
                    by=admin,
                    worker_type=worker_type,
                    cost_per_hour=Decimal(cost),
                    valid_from=start + datetime.timedelta(days=first),
                    valid_to=None if last is None else start + datetime.timedelta(days=last),
                )

        def worker(**fields):
            user = fields.get("user")
            existing = Worker.objects.filter(user=user).first() if user else None
            return existing or services.worker_create(by=admin, **fields)

        w_bob = worker(user=bob, worker_type=types["PLC engineer"])
        w_carol = worker(user=carol, worker_type=types["Electrician"], weekly_capacity_hours=Decimal(32))
        w_kurt = worker(name="Kurt Meyer (contractor)", worker_type=types["Welder"])
        w_lena = worker(name="Lena Tsai (contractor)", worker_type=types["Welder"])
        services.exception_create(
            by=admin,
            worker=w_carol,
            start=start + datetime.timedelta(days=21),
            end=start + datetime.timedelta(days=23),
            hours_off=Decimal(8),
            reason="Annual leave",
        )

        day = datetime.timedelta(days=1)
        phases = [
            services.phase_create(
                by=admin,
                project=line3,
                name=name,
                order=i,
                start=start + a * day,
                end=start + b * day,
                gate_status=gate,
            )
            for i, (name, a, b, gate) in enumerate(
                [
                    ("Design", 0, 9, "passed"),
                    ("Installation", 7, 20, "pending"),
                    ("Commissioning", 21, 34, "not_started"),
                ]
            )
        ]
        plan = [
            (w_bob, line3, phases[0], 0, 11, "6"),
            (w_bob, pack1, None, 14, 27, "4"),
            (w_carol, line3, phases[1], 7, 27, "6"),
            (w_carol, pack1, None, 21, 25, "4"),  # over-allocated: 6 + 4 > 6.4 h/day
            (w_kurt, line3, phases[1], 7, 20, "8"),
            (w_lena, pack1, None, 0, 27, "7.5"),
        ]
        today = datetime.date.today()
        actuals = 0
        for who, project, phase, a, b, hours in plan:
            services.assignment_create(
                by=alice,
                project=project,
                worker=who,
                phase=phase,
                start=start + a * day,
                end=start + b * day,
                hours_per_day=Decimal(hours),
            )
            for offset in range(a, b + 1):
                date = start + offset * day
                if date >= today or date.weekday() >= 5:
                    continue
                worked = Decimal(hours) + (Decimal(1) if offset % 5 == 0 else Decimal(0))
                services.actual_create(by=alice, project=project, worker=who, phase=phase, date=date, hours=worked)
                actuals += 1
    stdout.write(f"planning: portfolio {PORTFOLIO!r}, 2 programs, 4 workers, 6 assignments, {actuals} actuals")
