#!/usr/bin/python3
"""croniter as the oracle for opsrun's cron next-run computation (cron_croniter_test.cpp).

Reads lines "EXPR<TAB>ZONE<TAB>START_UNIX_SECONDS" on stdin and writes one line per case:
  "next<TAB>UNIX_SECONDS<TAB>COMPARABLE<TAB>SOURCE"  the next run strictly after START
  "invalid"                               croniter rejects the expression
  "never"                                 croniter finds no run (e.g. "0 0 30 2 *")
COMPARABLE is 0 where croniter 1.3.5 is known to be wrong or ambiguous around a DST change:
the UTC offset at START differs from the offset at the result (its "lag" correction then
moves runs by an hour), or START or the result is a local time that a DST change repeats
or skips. opsrun's own rules for those cases are tested directly in cron_dst_test.cpp.

SOURCE is "croniter", or "scan" where croniter 1.3.5 jumps past the first days of the next
month: with a day-of-month list holding days the current month lacks ("*/6" holds 31),
croniter from Feb 26 adds the five days to "the 31st" and lands on Mar 3, missing Mar 1. When
croniter's answer lies in a later month than START and the day-of-month is restricted, a
plain day-by-day scan of croniter's own expanded fields checks it and wins if it finds an
earlier run.
"""
import datetime
import sys
import zoneinfo

from croniter import croniter, CroniterBadCronError, CroniterBadDateError


def unclear(local, zone):
    wall = local.replace(tzinfo=None)
    return (wall.replace(tzinfo=zone, fold=0).utcoffset() !=
            wall.replace(tzinfo=zone, fold=1).utcoffset())


def has(values, v):
    return values == ["*"] or v in values


def scan(expanded, begin, until):
    """The first local wall time after `begin` (naive) up to `until` the fields match."""
    minutes, hours, doms, months, dows = expanded[:5]
    day_or = doms != ["*"] and dows != ["*"]
    first = begin.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    day = first.date()
    while datetime.datetime.combine(day, datetime.time()) <= until:
        dom_ok, dow_ok = has(doms, day.day), has(dows, day.isoweekday() % 7)
        if has(months, day.month) and ((dom_ok or dow_ok) if day_or else (dom_ok and dow_ok)):
            for h in range(24):
                for m in range(60):
                    if has(hours, h) and has(minutes, m):
                        found = datetime.datetime.combine(day, datetime.time(h, m))
                        if first <= found <= until:
                            return found
        day += datetime.timedelta(days=1)
    return None


def main():
    zones = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        expr, zone_name, start = line.split("\t")
        zone = zones.setdefault(zone_name, zoneinfo.ZoneInfo(zone_name))
        begin = datetime.datetime.fromtimestamp(int(start), zone)
        try:
            result = croniter(expr, begin).get_next(datetime.datetime)
        except CroniterBadDateError:
            print("never")
            continue
        except (CroniterBadCronError, ValueError, KeyError):
            print("invalid")
            continue
        source = "croniter"
        expanded = croniter(expr).expanded
        if expanded[2] != ["*"] and (result.year, result.month) != (begin.year, begin.month):
            found = scan(expanded, begin.replace(tzinfo=None), result.replace(tzinfo=None))
            if found is not None and found < result.replace(tzinfo=None):
                result, source = found.replace(tzinfo=zone), "scan"
        comparable = (begin.utcoffset() == result.utcoffset() and not unclear(begin, zone)
                      and not unclear(result, zone))
        print("next\t%d\t%d\t%s" % (int(result.timestamp()), 1 if comparable else 0, source))


if __name__ == "__main__":
    main()
