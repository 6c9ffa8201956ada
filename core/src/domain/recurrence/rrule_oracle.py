"""The independent side of the recurrence differential test (core/src/domain/recurrence/oracle_tests.rs).

Reads a JSON list of cases on stdin, each {"rrule", "tz", "dtstart" (local wall time), "exdates" (local wall
times, RFC 5545 EXDATE), "limit"}, and prints a
JSON list with, per case, the first `limit` occurrences of the recurrence set by python-dateutil's rrule, each
as [local wall time, UTC instant], or {"error": ...}.

dateutil reads RFC 5545 as we do except in three places, normalised here explicitly:
- A date-only UNTIL with a zoned DTSTART: RFC 5545 wants a UTC UNTIL there and dateutil refuses a naive one;
  we read it as the local date, inclusive, so dateutil gets the end of that local day.
- DTSTART that does not match the rule: RFC 5545 §3.8.5.3 says DTSTART "always counts as the first
  occurrence" (and counts towards COUNT); dateutil leaves it out. Here the set is DTSTART followed by the
  rule's instances after it, and COUNT bounds that set.
- BYSETPOS in a WEEKLY rule: RFC 5545 counts positions within the whole week (from WKST), days before
  DTSTART included — as its monthly example `FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3` from Thursday
  1997-09-04 does within the month. dateutil starts DTSTART's week at DTSTART, so `BYDAY=MO,WE;BYSETPOS=1`
  from a Tuesday gives it that Wednesday. dateutil is given the week's first day as its DTSTART there (the
  week, the INTERVAL's weeks and BYDAY are unchanged), and what falls before the real DTSTART is dropped.
Wall times inside a DST gap come out of dateutil as the nonexistent wall time with fold=0, whose UTC offset
(PEP 495) is the one before the gap: RFC 5545 §3.3.5's reading, so the instants compare without change.
"""

import json
import signal
import sys
from datetime import datetime, timedelta, timezone
from itertools import chain, islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

# A case whose rule never matches would make dateutil walk to year 9999; the generator avoids those, and
# this bound turns one that slips through into a reported error instead of a hung test.
SECONDS_PER_CASE = 5


class Timeout(Exception):
    pass


def on_alarm(_signum, _frame):
    raise Timeout()


def occurrences(case):
    tz = ZoneInfo(case["tz"])
    start = datetime.fromisoformat(case["dtstart"]).replace(tzinfo=tz)
    limit = case["limit"]
    kept, until_date = [], None
    for part in case["rrule"].split(";"):
        key, value = part.split("=", 1)
        if key == "UNTIL" and len(value) == 8:
            until_date = datetime.strptime(value, "%Y%m%d")
        else:
            kept.append(part)
    first = start
    # Without BYDAY the week's day is DTSTART's weekday, so only a rule with BYDAY may start earlier.
    keys = {p.split("=", 1)[0] for p in kept}
    if "FREQ=WEEKLY" in kept and {"BYSETPOS", "BYDAY"} <= keys:
        wkst = next((p[5:] for p in kept if p.startswith("WKST=")), "MO")
        back = (start.weekday() - ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(wkst)) % 7
        first = start - timedelta(days=back)
    rule = rrulestr(";".join(kept), dtstart=first)
    count = rule._count
    rule = rule.replace(count=None)
    if until_date is not None:
        rule = rule.replace(until=until_date.replace(hour=23, minute=59, second=59, tzinfo=tz))
    # COUNT bounds the set before EXDATE removes from it: a skipped instance still counts.
    instances = chain([start], (dt for dt in rule if dt > start))
    if count is not None:
        instances = islice(instances, count)
    skipped = {datetime.fromisoformat(e).replace(tzinfo=tz) for e in case["exdates"]}
    out = list(islice((dt for dt in instances if dt not in skipped), limit))
    return [
        [dt.replace(tzinfo=None).isoformat(), dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]
        for dt in out
    ]


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    results = []
    for case in json.load(sys.stdin):
        signal.alarm(SECONDS_PER_CASE)
        try:
            results.append(occurrences(case))
        except Timeout:
            results.append({"error": f"dateutil took over {SECONDS_PER_CASE}s"})
        except Exception as e:  # reported with the case by the Rust side
            results.append({"error": f"{type(e).__name__}: {e}"})
        finally:
            signal.alarm(0)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
