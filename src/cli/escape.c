/*
 * escape.c: how text from a server is written into the outputs: escaped for
 * HTML, as a JSON string, or (libpq's messages) on one line.  Shared by the
 * report's renderers, its timeline and `latdiag top`.
 */
#include "latdiag.h"

#include <stdlib.h>

/*
 * Print s with HTML's special characters escaped, control characters but
 * newline and tab as spaces; at most max characters (UTF-8 code points),
 * then "...", when max > 0.  NULL prints nothing.
 */
void
html_text(FILE *out, const char *s, int max)
{
	int			chars = 0;

	if (s == NULL)
		return;
	for (; *s; s++)
	{
		if (max > 0 && ((unsigned char) *s & 0xC0) != 0x80 && chars++ == max)
		{
			fputs("...", out);
			return;
		}
		switch (*s)
		{
			case '&':
				fputs("&amp;", out);
				break;
			case '<':
				fputs("&lt;", out);
				break;
			case '>':
				fputs("&gt;", out);
				break;
			case '"':
				fputs("&quot;", out);
				break;
			case '\'':
				fputs("&#39;", out);
				break;
			default:
				if ((unsigned char) *s < 0x20 && *s != '\n' && *s != '\t')
					fputc(' ', out);
				else
					fputc(*s, out);
		}
	}
}

/* Print s as a JSON string; NULL as null. */
void
json_string(FILE *out, const char *s)
{
	if (s == NULL)
	{
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		switch (ch)
		{
			case '"':
				fputs("\\\"", out);
				break;
			case '\\':
				fputs("\\\\", out);
				break;
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			default:
				if (ch < 0x20 || ch == 0x7f)
					fprintf(out, "\\u%04x", ch);
				else
					fputc(ch, out);
		}
	}
	fputc('"', out);
}

/*
 * libpq's message on one line, allocated: whitespace runs as one space, no
 * leading or trailing space (NULL: "unknown error").
 */
char *
one_line(const char *msg)
{
	char	   *s = xstrdup(msg ? msg : "unknown error");
	char	   *src,
			   *dst;

	for (src = dst = s; *src; src++)
	{
		bool		space = (*src == '\n' || *src == '\r' || *src == '\t' || *src == ' ');

		if (space && (dst == s || dst[-1] == ' '))
			continue;
		*dst++ = space ? ' ' : *src;
	}
	while (dst > s && dst[-1] == ' ')
		dst--;
	*dst = '\0';
	return s;
}
