"""The part of Cloud Logging's query language (https://cloud.google.com/logging/docs/view/logging-query-language) the
emulator evaluates, one implementation for `entries.list` and for the log-based metrics that count entries, and the
extractors of log-based metrics (LogMetric.labelExtractors and valueExtractor in logging.v2.json).

Filters: comparisons `FIELD OP VALUE` with OP `=`, `!=`, `:` (has: a substring; `:*` the field is present), `=~` and
`!~` (a regular expression, Python's syntax for RE2's), and `<`, `<=`, `>`, `>=` (timestamps as RFC 3339 instants,
`severity` by its level, numbers as numbers, else text); VALUE a quoted string or a bare word. Comparisons are joined
by `AND`, `OR` or by mere juxtaposition (an AND), OR binding tighter than AND as in the language (`a OR NOT b AND NOT c
OR d` is `(a OR (NOT b)) AND ((NOT c) OR d)`), negated by `NOT` or a leading `-`, and grouped with parentheses.
FIELD is a dotted path into the LogEntry's JSON (`protoPayload.authenticationInfo.principalEmail`,
`resource.labels.project_id`, `logName`, `timestamp`); a path through a list matches when one of its elements does. As
the language says, "String comparisons aren't case sensitive" (regular expressions are), and the logical operators
are upper case.
Anything else (a bare value searched in every field, `FIELD = (A OR B)`, functions such as `sample()` or `log_id()`,
quoted path segments) is refused with 400 INVALID_ARGUMENT naming what the emulator takes; Google's words for an
unparseable filter are not known.
"""

import datetime
import functools
import re

from orchestra_emulator.errors import invalid_argument

# LogEntry.severity, lowest first (logging.v2.json's LogSeverity numbers: DEFAULT 0 ... EMERGENCY 800).
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")
_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=~|!~|[=:<>])|(?P<paren>[()])|(?P<word>[^\s()"=:<>!~]+))')
_FIELD = re.compile(r"^[A-Za-z_@][\w@/-]*(\.[A-Za-z_@][\w@/-]*)*$")
_EXTRACT = re.compile(r'^\s*EXTRACT\(\s*([\w.@/-]+)\s*\)\s*$')
_REGEXP_EXTRACT = re.compile(r'^\s*REGEXP_EXTRACT\(\s*([\w.@/-]+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)\s*$')
SUBSET = ('comparisons FIELD OP VALUE (OP one of = != : =~ !~ < <= > >=, VALUE a quoted string or a word) joined by AND, OR '
          'or juxtaposition, negated by NOT or -, grouped with parentheses')


@functools.lru_cache(maxsize=256)
def parse(text):
    """A predicate on a LogEntry (its JSON) for the filter `text` (an empty filter matches every entry); 400 for a
    filter outside the subset."""
    tokens = _tokens(text)
    if not tokens:
        return lambda _entry: True
    parser = _Parser(text, tokens)
    predicate = parser.expression()
    if parser.position < len(tokens):
        raise parser.refused(f"unexpected {tokens[parser.position][1]!r}")
    return predicate


def values(entry, path):
    """The values at the dotted `path` of `entry` (every element's, through lists); [] when absent."""
    found = [entry]
    for part in path.split("."):
        step = []
        for value in found:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and part in item:
                    step.append(item[part])
        found = step
    return [leaf for value in found for leaf in (value if isinstance(value, list) else [value])]


def check_extractor(expression, field):
    """400 unless `expression` is EXTRACT(path) or REGEXP_EXTRACT(path, "regular expression") with exactly one group."""
    regexp = _REGEXP_EXTRACT.match(expression)
    if _EXTRACT.match(expression):
        return
    if regexp:
        try:
            groups = re.compile(_unquote(regexp.group(2))).groups
        except re.error as error:
            raise invalid_argument(f"Invalid regular expression in {expression!r}: {error}.", field=field) from None
        if groups == 1:
            return
    raise invalid_argument(f'Invalid extractor {expression!r}: expected EXTRACT(field.path) or REGEXP_EXTRACT(field.path, "regular '
                           'expression with one capture group").', field=field)


def extract(expression, entry):
    """What an extractor (checked by check_extractor) takes from `entry`: the text of the field's first value, or of
    the regular expression's group in it; None when the field is absent or the expression does not match."""
    regexp = _REGEXP_EXTRACT.match(expression)
    path = regexp.group(1) if regexp else _EXTRACT.match(expression).group(1)
    found = values(entry, path)
    if not found:
        return None
    text = _text(found[0])
    if not regexp:
        return text
    match = re.search(_unquote(regexp.group(2)), text)
    return match.group(1) if match else None


class _Parser:
    def __init__(self, text, tokens):
        self.text = text
        self.tokens = tokens
        self.position = 0

    def refused(self, problem):
        return invalid_argument(f"Unsupported or invalid filter [{self.text}]: {problem}. The emulator takes {SUBSET}.", field="filter")

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        if token[0] is None:
            raise self.refused("it ends too early")
        self.position += 1
        return token

    def expression(self):
        """Terms joined by AND or juxtaposed: OR binds tighter (the language's `a OR NOT b AND NOT c OR d` is
        `(a OR (NOT b)) AND ((NOT c) OR d)`)."""
        terms = [self.disjunction()]
        while self.peek()[0] is not None and self.peek() != ("paren", ")"):
            if self.peek() == ("word", "AND"):
                self.take()
            terms.append(self.disjunction())
        return terms[0] if len(terms) == 1 else (lambda entry: all(p(entry) for p in terms))

    def disjunction(self):
        alternatives = [self.negation()]
        while self.peek() == ("word", "OR"):
            self.take()
            alternatives.append(self.negation())
        return alternatives[0] if len(alternatives) == 1 else (lambda entry: any(p(entry) for p in alternatives))

    def negation(self):
        if self.peek() == ("word", "NOT"):
            self.take()
            inner = self.negation()
            return lambda entry: not inner(entry)
        kind, value = self.peek()
        if kind == "word" and value.startswith("-") and len(value) > 1:
            self.tokens[self.position] = ("word", value[1:])
            inner = self.negation()
            return lambda entry: not inner(entry)
        if (kind, value) == ("paren", "("):
            self.take()
            inner = self.expression()
            if self.take() != ("paren", ")"):
                raise self.refused("a parenthesis is not closed")
            return inner
        return self.comparison()

    def comparison(self):
        kind, field = self.take()
        if kind != "word" or not _FIELD.match(field) or field in ("AND", "OR", "NOT"):
            raise self.refused(f"{field!r} is not a field path")
        if self.peek()[0] != "op":
            raise self.refused(f"{field!r} has no comparison (searching a bare value in every field is not supported)")
        operator = self.take()[1]
        kind, value = self.take()
        if kind not in ("string", "word") or value in ("AND", "OR", "NOT"):
            raise self.refused(f"{field} {operator} needs a quoted string or a word")
        value = _unquote(value[1:-1]) if kind == "string" else value
        if operator in ("=~", "!~"):
            try:
                pattern = re.compile(value)
            except re.error as error:
                raise self.refused(f"invalid regular expression {value!r}: {error}") from None

            def found(entry):
                return any(pattern.search(_text(v)) for v in values(entry, field))
            return found if operator == "=~" else (lambda entry: not found(entry))
        if operator == ":":
            wanted = value.casefold()
            return lambda entry: any(wanted == "*" or wanted in _text(v).casefold() for v in values(entry, field))
        if operator in ("=", "!="):
            def equal(entry):
                return any(_text(v).casefold() == value.casefold() for v in _with_default(entry, field))
            return equal if operator == "=" else (lambda entry: not equal(entry))
        key = _ordering(field, value, self)
        compare = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[operator]
        bound = key(value)
        return lambda entry: any(compare(found, bound) for found in _keys(key, _with_default(entry, field)))


def _tokens(text):
    tokens, position = [], 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if not found or found.end() == position:
            if text[position:].strip():
                raise invalid_argument(f"Unsupported or invalid filter [{text}]: cannot read {text[position:].strip()!r}. "
                                       f"The emulator takes {SUBSET}.", field="filter")
            break
        position = found.end()
        kind = found.lastgroup
        tokens.append((kind, found.group(kind)))
    return tokens


def _with_default(entry, field):
    """A field's values; an entry without severity is DEFAULT (LogEntry.severity's default)."""
    found = values(entry, field)
    return found or (["DEFAULT"] if field == "severity" else [])


def _ordering(field, value, parser):
    """The key that orders values of `field` as the language compares them."""
    if field in ("timestamp", "receiveTimestamp") or field.endswith(("Time", "time")):
        try:
            instant(value)
        except ValueError:
            raise parser.refused(f"{value!r} is not an RFC 3339 time") from None
        return instant
    if field == "severity":
        if value.upper() not in SEVERITIES and not value.isdigit():
            raise parser.refused(f"{value!r} is not a severity ({', '.join(SEVERITIES)})")
        return _severity
    if _number(value) is not None:
        return lambda found: _number(found) if _number(found) is not None else float("nan")
    return lambda text: _text(text).casefold()


def _keys(key, found):
    keys = []
    for value in found:
        try:
            keys.append(key(value))
        except ValueError:
            continue
    return keys


def _severity(value):
    text = _text(value).upper()
    return int(text) if text.isdigit() else SEVERITIES.index(text) * 100 if text in SEVERITIES else -1


def instant(text):
    """Seconds since the epoch of an RFC 3339 time (nanoseconds allowed; a date alone is its midnight UTC); ValueError
    for anything else."""
    moment = datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", str(text)).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)).timestamp()


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _unquote(text):
    """A quoted string's text: its escaped quotes and backslashes unescaped, other backslashes kept (regular expressions)."""
    return re.sub(r'\\(["\\])', r"\1", text)
