"""Reads a calendar feed as calendar apps would, with libraries independent of ours: python `icalendar`
parses it and `recurring-ical-events` expands every series (RRULE, EXDATE) over a window.

stdin: {"ics": <feed text>, "zone": <IANA name>, "start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}
stdout: {"events": {uid: [occurrence, ...]}, "summaries": {uid: summary}, "status": {uid: X-TODOPLATFORM-STATUS},
         "zone_mismatches": [...]}
An occurrence is "YYYY-MM-DD" for an all-day one, else its instant in UTC ("YYYY-MM-DDTHH:MM:SSZ").
zone_mismatches lists instants where the feed's own VTIMEZONE (read by icalendar, as a client without the
zone in its database would) gives another UTC offset than Python's zoneinfo.
"""

import datetime
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events


def occurrence(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise SystemExit(f"floating time in the feed: {value}")
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def zone_mismatches(cal, zone):
    real = zoneinfo.ZoneInfo(zone)
    found = []
    for vtz in cal.walk("VTIMEZONE"):
        if str(vtz["TZID"]) != zone:
            found.append(f"VTIMEZONE for {vtz['TZID']}, expected {zone}")
            continue
        ours = vtz.to_tz()
        starts = [sub["DTSTART"].dt for sub in vtz.subcomponents]
        first, last = min(starts), max(starts)
        t = datetime.datetime(first.year, 1, 1, 12, tzinfo=datetime.timezone.utc)
        end = datetime.datetime(last.year + 1, 1, 1, tzinfo=datetime.timezone.utc)
        while t < end:
            a = t.astimezone(ours).utcoffset()
            b = t.astimezone(real).utcoffset()
            if a != b:
                found.append(f"{t.isoformat()}: VTIMEZONE says {a}, zoneinfo {b}")
            t += datetime.timedelta(hours=6)
    return found


def main():
    req = json.load(sys.stdin)
    cal = icalendar.Calendar.from_ical(req["ics"])
    # recurring-ical-events hands a calendar with X-WR-TIMEZONE to the x-wr-timezone package, which turns
    # UTC times into wall times of that zone and so loses a DST fold's later instant (01:30 EST on 1 November
    # in New York becomes 01:30 EDT). RFC 5545 has no X-WR-TIMEZONE; Google, Apple and Thunderbird keep a
    # UTC time's instant. Read the feed as the RFC has it.
    cal.pop("X-WR-TIMEZONE")
    start = datetime.date.fromisoformat(req["start"])
    end = datetime.date.fromisoformat(req["end"])
    events, summaries, status = {}, {}, {}
    for ev in recurring_ical_events.of(cal).between(start, end):
        uid = str(ev["UID"])
        events.setdefault(uid, []).append(occurrence(ev["DTSTART"].dt))
        summaries[uid] = str(ev["SUMMARY"])
        status[uid] = str(ev.get("X-TODOPLATFORM-STATUS", ""))
    for uid in events:
        events[uid].sort()
    json.dump(
        {
            "events": events,
            "summaries": summaries,
            "status": status,
            "zone_mismatches": zone_mismatches(cal, req["zone"]),
        },
        sys.stdout,
    )


main()
