/*
 * duration.c: durations on the command line ("2s", "500ms", "30m", "1.5h").
 *
 * Used by `latdiag top --interval` and `latdiag report --since`.  A number
 * with an optional unit: ms, s (the default), m or min, h, d; no sign, no
 * space inside.  Anything else, zero included, is refused by the callers with
 * a message naming the option.
 */
#include "latdiag.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse a duration into seconds; false if malformed (not a positive finite number). */
bool
parse_duration(const char *s, double *secs)
{
	static const struct
	{
		const char *unit;
		double		factor;
	}			units[] = {
		{"", 1}, {"ms", 0.001}, {"s", 1}, {"sec", 1}, {"m", 60}, {"min", 60},
		{"h", 3600}, {"d", 86400}
	};
	char	   *end;
	double		v;
	size_t		i;

	if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
		{
			*secs = v * units[i].factor;
			return true;
		}
	return false;
}

/* A duration for messages: "90 s", "30 min", "2 h". */
char *
format_duration(double secs)
{
	if (secs >= 3600 && fmod(secs, 3600) == 0)
		return xprintf("%.0f h", secs / 3600);
	if (secs >= 60 && fmod(secs, 60) == 0)
		return xprintf("%.0f min", secs / 60);
	if (secs >= 1)
		return xprintf("%g s", secs);
	return xprintf("%g ms", secs * 1000);
}
