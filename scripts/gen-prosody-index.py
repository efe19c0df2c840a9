#!/usr/bin/env python3
"""Build data/prosody-index.json from the installed Prosody and prosody-modules.

Reads the Lua sources under /usr/lib/prosody (core, net, util, modules) and
the prosodyctl checker, and writes a deterministic JSON index of:

  * every loadable module (core or community, by dpkg ownership) with the
    options it reads and their types (from the typed module:get_option_*
    getters, literal defaults, config.get/configmanager.get calls), its
    `--%` metadata headers, module:depends() dependencies, whether it is
    global-only, whether it is used as a Component, network services it
    provides (and the <service>_ports/_interfaces/... options they imply);
  * core_options: options read by core/, net/, util/ and the executables;
  * global_only / global_only_patterns: what `prosodyctl check config`
    flags when found under a VirtualHost/Component;
  * deprecated: prosodyctl's obsolete/deprecated options with replacements,
    and obsolete modules with their replacements.

With --upstream, it reads git mirrors of upstream prosody-modules instead and
writes data/prosody-modules-upstream.json: the modules they have that the
installed packages do not, indexed the same way, each `installed: false` with
the mirror (owner/name), commit and date it was read from.  The newest
mirror's version of a module wins; a module only older mirrors have is kept
with `removed: true`.  Only data (names, options, types, provenance) is
written, never module code.

Python 3 standard library only.  Usage:

    scripts/gen-prosody-index.py            # write data/prosody-index.json
    scripts/gen-prosody-index.py --check    # exit 1 if the checked-in file is stale
    scripts/gen-prosody-index.py --output -  # print to stdout
    scripts/gen-prosody-index.py --upstream MIRROR...   # write data/prosody-modules-upstream.json
"""

from __future__ import annotations

import argparse
import ast
import bisect
from datetime import datetime
import json
import operator
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path("/usr/lib/prosody")
MODULES_DIR = ROOT / "modules"
EXECUTABLES = [Path("/usr/bin/prosody"), Path("/usr/bin/prosodyctl")]
CHECK_LUA = ROOT / "util" / "prosodyctl" / "check.lua"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "data" / "prosody-index.json"
SCHEMA_VERSION = 1

# Modules used as `Component "name.example" "module"`.  Whether a module is a
# component module cannot be told reliably from its source, so this is an
# explicit list taken from Prosody's documentation and the READMEs shipped in
# /usr/share/doc/prosody-modules (lines like `Component "x" "vjud"`).
#   "only": only makes sense as a Component;
#   "optional": works on a Component or on a VirtualHost.
COMPONENT_MODULES = {
    # core
    "muc": "only",
    "http_file_share": "only",
    "proxy65": "only",
    "pubsub": "optional",
    # community (prosody-modules)
    "http_upload": "only",
    "http_upload_external": "only",
    "vjud": "only",
    "broadcast": "only",
    "unified_push": "optional",
    "rest": "optional",
}

# Debian's prosody-modules ships mod_http_upload as an empty directory (the
# module was dropped in favour of core mod_http_file_share), yet configs in
# the wild still use it.  Its options, from the module's documentation, so
# that they are known rather than reported as typos.  `installed: false`.
SUPPLEMENT_MODULES = {
    "http_upload": {
        "origin": "community",
        "package": "prosody-modules",
        "note": "directory shipped empty by Debian's prosody-modules; options from the module's documentation",
        "options": {
            "http_upload_file_size_limit": {"type": "number", "default": 1048576},
            "http_upload_quota": {"type": "number"},
            "http_upload_expire_after": {"type": "number"},
            "http_upload_path": {"type": "string"},
        },
        "depends": ["disco", "http"],
    },
}

# Modules that no longer exist or are superseded.  Entries derived from the
# sources are added at run time (prosodyctl's mod_posix warning, stub modules
# that only log "has been renamed" and depend on their successor).  These are
# the curated ones, each with where it comes from.
CURATED_OBSOLETE_MODULES = {
    "privacy": {"kind": "removed", "replacement": "blocklist",
                "message": "mod_privacy was removed in Prosody 0.12; use mod_blocklist (or community mod_privacy_lists)"},
    "bookmarks2": {"kind": "removed", "replacement": "bookmarks",
                   "message": "bookmarks are built into Prosody (feature mod_bookmarks); use mod_bookmarks"},
    "mam_muc": {"kind": "renamed", "replacement": "muc_mam",
                "message": "mod_mam_muc was renamed to mod_muc_mam"},
    "vcard_muc": {"kind": "deprecated", "replacement": "muc",
                  "message": "MUC vCard/avatar support is built into Prosody 13's mod_muc (feature muc_vcard)"},
    "muc_log": {"kind": "removed", "replacement": "muc_mam",
                "message": "use mod_muc_mam to archive MUC history (and mod_http_muc_log to publish it)"},
    "http_upload": {"kind": "superseded", "replacement": "http_file_share",
                    "message": "mod_http_upload is not shipped any more; use core mod_http_file_share"},
    "admin_telnet": {"kind": "deprecated", "replacement": "admin_shell",
                     "message": "the telnet console is deprecated; use mod_admin_shell with 'prosodyctl shell'"},
    # README_mod_blocking.md: "labels: Stage-Deprecated ... use the core
    # module mod_blocklist instead"
    "blocking": {"kind": "deprecated", "replacement": "blocklist",
                 "message": "community mod_blocking is deprecated (it depends on mod_privacy_lists); core mod_blocklist implements XEP-0191"},
    "turncredentials": {"kind": "superseded", "replacement": "turn_external",
                        "message": "core mod_turn_external supersedes community mod_turncredentials"},
    # bjc/prosody 88cbaf206 deleted the last tombstone; no prosody-modules
    # mirror has a mod_compression (only mod_compression_unsafe)
    "compression": {"kind": "removed", "replacement": None,
                    "message": "stream compression (XEP-0138) was removed from Prosody: compressing encrypted streams is unsafe; remove it"},
}

# Core options read with a bare config.get() give no type.  For these the
# way the value is used in the source (and Prosody's documentation) is
# unambiguous; applied only when extraction found no type, marked
# "type_source": "hint".  Options whose values legitimately vary in type
# (log, storage, statistics_interval, ...) are left as "any".
CORE_TYPE_HINTS = {
    "anonymous_login": "boolean",
    "daemonize": "boolean",
    "debug": "boolean",
    "force_module_reload": "boolean",
    "use_dane": "boolean",
    "admin_shell_prompt": "string",
    "certificate": "string",
    "component_module": "string",
    "conflict_resolve": "string",
    "console_banner": "string",
    "data_path": "string",
    "plugin_server": "string",
    "prosody_group": "string",
    "statistics": "string",
    "syslog_facility": "string",
    "client_https_ssl": "table",
    "gc": "table",
    "statistics_config": "table",
    "unbound": "table",
    "interface": "set",
    "interfaces": "set",
    "local_interfaces": "set",
    "plugin_paths": "array",
}

# ---------------------------------------------------------------------------
# Lua tokenizer

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lcomment>--\[(?P<lce>=*)\[.*?\](?P=lce)\])
  | (?P<comment>--[^\n]*)
  | (?P<lstring>\[(?P<lse>=*)\[.*?\](?P=lse)\])
  | (?P<dstring>"(?:\\[\s\S]|[^"\\\n])*")
  | (?P<sstring>'(?:\\[\s\S]|[^'\\\n])*')
  | (?P<number>0[xX][0-9a-fA-F]*(?:\.[0-9a-fA-F]*)?(?:[pP][+-]?\d+)?
              |\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|::|//|<<|>>|[-+*/%^\#&~|<>=(){}\[\];:,.])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
    "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
    "true", "until", "while",
}

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f",
           "v": "\v", "\\": "\\", '"': '"', "'": "'", "\n": "\n"}


def unescape(body: str) -> str:
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= len(body):
            break
        c = body[i]
        if c in ESCAPES:
            out.append(ESCAPES[c])
            i += 1
        elif c == "x":
            out.append(chr(int(body[i + 1:i + 3], 16)))
            i += 3
        elif c == "z":
            i += 1
            while i < len(body) and body[i].isspace():
                i += 1
        elif c.isdigit():
            m = re.match(r"\d{1,3}", body[i:])
            out.append(chr(int(m.group(0))))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Tok:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind, text, value, pos):
        self.kind = kind  # name, kw, string, number, op, eof
        self.text = text
        self.value = value
        self.pos = pos

    def is_op(self, *ops):
        return self.kind == "op" and self.text in ops

    def is_kw(self, *kws):
        return self.kind == "kw" and self.text in kws


def parse_number(text: str):
    t = text.lower()
    if t.startswith("0x"):
        if "." in t or "p" in t:
            return float.fromhex(t)
        return int(t, 16)
    if re.fullmatch(r"\d+", t):
        return int(t)
    return float(t)


def tokenize(src: str) -> list[Tok]:
    toks = []
    for m in TOKEN_RE.finditer(src):
        kind = m.lastgroup
        if kind in ("lce", "lse"):  # inner groups never end a match
            kind = "lcomment" if m.group("lcomment") else "lstring"
        text = m.group(0)
        if kind in ("ws", "lcomment", "comment", "bad"):
            continue
        if kind == "lstring":
            body = re.match(r"\[(=*)\[(.*)\]\1\]$", text, re.DOTALL).group(2)
            if body.startswith("\n"):
                body = body[1:]
            toks.append(Tok("string", text, body, m.start()))
        elif kind in ("dstring", "sstring"):
            toks.append(Tok("string", text, unescape(text[1:-1]), m.start()))
        elif kind == "number":
            toks.append(Tok("number", text, parse_number(text), m.start()))
        elif kind == "name":
            toks.append(Tok("kw" if text in KEYWORDS else "name", text, text, m.start()))
        else:
            toks.append(Tok("op", text, text, m.start()))
    toks.append(Tok("eof", "", None, len(src)))
    return toks


OPEN = {"(": ")", "{": "}", "[": "]"}


def match_close(toks, i):
    """Index of the bracket closing toks[i] (an opening bracket)."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == "op":
            if t.text in OPEN:
                depth += 1
            elif t.text in (")", "}", "]"):
                depth -= 1
                if depth == 0:
                    return j
    return len(toks) - 1


def split_top(toks, lo, hi, seps=(",",)):
    """Split toks[lo:hi] at top-level separators; returns list of (lo, hi)."""
    parts = []
    depth = 0
    start = lo
    for j in range(lo, hi):
        t = toks[j]
        if t.kind == "op":
            if t.text in OPEN:
                depth += 1
            elif t.text in (")", "}", "]"):
                depth -= 1
            elif depth == 0 and t.text in seps:
                parts.append((start, j))
                start = j + 1
    if start < hi:
        parts.append((start, hi))
    return parts


def call_args(toks, i):
    """toks[i] starts the argument part of a call.  Returns (args, end)
    where args is a list of (lo, hi) token ranges and end is the index just
    past the call; or (None, i) if toks[i] does not start a call."""
    t = toks[i]
    if t.is_op("("):
        close = match_close(toks, i)
        return split_top(toks, i + 1, close), close + 1
    if t.kind == "string":
        return [(i, i + 1)], i + 1
    if t.is_op("{"):
        close = match_close(toks, i)
        return [(i, close + 1)], close + 1
    return None, i


class NotLiteral(Exception):
    pass


_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
          ast.FloorDiv: operator.floordiv}


def _eval_arith(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval_arith(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        a, b = _eval_arith(node.left), _eval_arith(node.right)
        if isinstance(node.op, ast.Div):
            return float(a) / float(b)
        return _ARITH[type(node.op)](a, b)
    raise NotLiteral()


def literal(toks, lo, hi, modname=None, partial=False):
    """Evaluate toks[lo:hi] as a Lua literal: nil, booleans, numbers, strings,
    string concatenation, constant arithmetic, and table constructors of
    literals.  `module.name` is replaced by modname when given.  With
    partial=True a table keeps only its literal fields.  Raises NotLiteral."""
    if lo >= hi:
        raise NotLiteral()
    t = toks[lo]
    if (modname and hi - lo == 3 and t.text == "module" and toks[lo + 1].is_op(".")
            and toks[lo + 2].text == "name"):
        return modname  # module:get_option(module.name): the option named like the module
    if hi - lo == 1:
        if t.kind in ("string", "number"):
            return t.value
        if t.is_kw("true"):
            return True
        if t.is_kw("false"):
            return False
        if t.is_kw("nil"):
            return None
        raise NotLiteral()
    if t.is_op("{") and match_close(toks, lo) == hi - 1:
        return table_literal(toks, lo + 1, hi - 1, modname, partial)
    if t.is_op("(") and match_close(toks, lo) == hi - 1:
        return literal(toks, lo + 1, hi - 1, modname, partial)
    # string concatenation
    pieces = split_top(toks, lo, hi, seps=("..",))
    if len(pieces) > 1:
        out = []
        for plo, phi in pieces:
            if (modname and phi - plo == 3 and toks[plo].text == "module"
                    and toks[plo + 1].is_op(".") and toks[plo + 2].text == "name"):
                out.append(modname)
                continue
            v = literal(toks, plo, phi, modname)
            if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
                raise NotLiteral()
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            out.append(str(v))
        return "".join(out)
    # constant arithmetic
    if all(x.kind == "number" or x.is_op("+", "-", "*", "/", "%", "^", "(", ")", "//")
           for x in toks[lo:hi]):
        expr = " ".join("**" if x.text == "^" else str(x.value) if x.kind == "number" else x.text
                        for x in toks[lo:hi])
        try:
            return _eval_arith(ast.parse(expr, mode="eval").body)
        except (SyntaxError, ZeroDivisionError, NotLiteral) as exc:
            raise NotLiteral() from exc
    raise NotLiteral()


def table_literal(toks, lo, hi, modname=None, partial=False):
    positional = []
    keyed = {}
    for flo, fhi in split_top(toks, lo, hi, seps=(",", ";")):
        try:
            if toks[flo].is_op("["):
                close = match_close(toks, flo)
                if not toks[close + 1].is_op("="):
                    raise NotLiteral()
                key = literal(toks, flo + 1, close, modname)
                if isinstance(key, (dict, list)) or key is None:
                    raise NotLiteral()
                keyed[key if isinstance(key, str) else json.dumps(key)] = literal(
                    toks, close + 2, fhi, modname, partial)
            elif toks[flo].kind in ("name",) and toks[flo + 1].is_op("=") and flo + 1 < fhi:
                keyed[toks[flo].text] = literal(toks, flo + 2, fhi, modname, partial)
            else:
                positional.append(literal(toks, flo, fhi, modname, partial))
        except NotLiteral:
            if not partial:
                raise
    if positional and keyed:
        for n, v in enumerate(positional, 1):
            keyed[str(n)] = v
        return keyed
    if positional:
        return positional
    return keyed


def source_text(src, toks, lo, hi):
    if lo >= hi:
        return ""
    return re.sub(r"\s+", " ", src[toks[lo].pos:toks[hi - 1].pos + len(toks[hi - 1].text)])


# ---------------------------------------------------------------------------
# Durations (util/human/io.lua parse_duration), used for period bounds

DURATION_MULTIPLIERS = {"d": 86400, "w": 86400 * 7, "mon": 31 * 86400,
                        "y": 365.2425 * 86400, "s": 1, "min": 60, "h": 3600, "ho": 3600}


def parse_duration(s: str):
    m = re.search(r"(\d+)\s*([smhdwy]?[io]?n?)", s.lower())
    if not m or m.group(2) not in DURATION_MULTIPLIERS:
        return None
    v = int(m.group(1)) * DURATION_MULTIPLIERS[m.group(2)]
    return int(v) if float(v).is_integer() else v


# ---------------------------------------------------------------------------
# Option extraction

TYPED_GETTERS = {
    "get_option": "any",
    "get_option_boolean": "boolean",
    "get_option_string": "string",
    "get_option_number": "number",
    "get_option_integer": "integer",
    "get_option_period": "period",
    "get_option_enum": "enum",
    "get_option_set": "set",
    "get_option_array": "array",
    "get_option_path": "path",
    "get_option_scalar": "scalar",
    "get_option_inherited_set": "set",
}

CONFIGMANAGER_MODULES = {"prosody.core.configmanager", "core.configmanager"}


def type_of_literal(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, dict)):
        return "table"
    return "any"


def clean_number(v):
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    return v


class FileScan:
    """Everything extracted from one Lua file."""

    def __init__(self, path: Path, modname: str | None, src: str | None = None,
                 embedded: bool = False):
        self.path = path
        self.modname = modname
        self.embedded = embedded
        self.src = src if src is not None else path.read_text(encoding="utf-8", errors="replace")
        self.toks = tokenize(self.src)
        self._lines = None
        self._module_fns = None
        self.reads = []        # (option, spec)
        self.dynamic = []      # (line, expression) of option names not literal
        self.depends = set()
        self.requires = []     # module:require "x"
        self.provides = []     # (kind, fields)
        self.set_global = False
        self.add_host = False
        self.metadata = {}
        self.renamed_to = None
        self.dynamic_depends = False
        self.scan()
        if not self.embedded:
            # Lua code kept in strings and compiled at run time (mod_firewall's
            # action/condition templates) reads options too.
            for t in self.toks:
                if t.kind == "string" and "get_option" in t.value and "(" in t.value:
                    sub = FileScan(path, modname, src=t.value, embedded=True)
                    self.reads.extend(sub.reads)
                    self.depends |= sub.depends
                    self.dynamic.extend((self.line(t.pos), ex) for _, ex in sub.dynamic)

    def module_param_functions(self):
        """Character ranges of functions taking a parameter named `module`
        (`function module.add_host(module)`, `function api.x(module, ...)`):
        there `module` is a host's module, not the (global) module itself."""
        toks = self.toks
        ranges = []
        for i, t in enumerate(toks):
            if not t.is_kw("function"):
                continue
            j = i + 1
            while j < len(toks) and not toks[j].is_op("(") and j < i + 8:
                j += 1
            if not toks[j].is_op("("):
                continue
            close = match_close(toks, j)
            if not any(x.kind == "name" and x.text == "module" for x in toks[j + 1:close]):
                continue
            depth = 1
            k = close + 1
            while k < len(toks) and depth:
                x = toks[k]
                if x.is_kw("function", "if", "do", "repeat"):
                    depth += 1
                elif x.is_kw("end", "until"):
                    depth -= 1
                k += 1
            ranges.append((toks[close].pos, toks[k - 1].pos))
        return ranges

    def toplevel_read(self, receiver_idx, pos):
        """Whether a read goes through the module's own `module` object (not
        a host module passed in as a parameter)."""
        if receiver_idx is not None:
            r = self.toks[receiver_idx]
            if not (r.kind == "name" and r.text == "module"):
                return False
        if self._module_fns is None:
            self._module_fns = self.module_param_functions()
        return not any(lo < pos < hi for lo, hi in self._module_fns)

    def line(self, pos):
        if self._lines is None:
            self._lines = [m.start() for m in re.finditer("\n", self.src)]
        return bisect.bisect_right(self._lines, pos - 1) + 1

    # -- helpers -----------------------------------------------------------
    def lit(self, rng, partial=False):
        return literal(self.toks, rng[0], rng[1], self.modname, partial)

    def text(self, rng):
        return source_text(self.src, self.toks, rng[0], rng[1])

    def receiver_is_global_context(self, colon):
        """True if the expression before toks[colon] (':') is
        `X:context("*")` or `api("*")`/`global`."""
        toks = self.toks
        j = colon - 1
        if j >= 0 and toks[j].is_op(")"):
            depth = 0
            k = j
            while k >= 0:
                if toks[k].is_op(")"):
                    depth += 1
                elif toks[k].is_op("("):
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
            inner = toks[k + 1:j]
            if k > 0 and toks[k - 1].text in ("context", "api") and len(inner) == 1 \
                    and inner[0].kind == "string" and inner[0].value == "*":
                return True
        return False

    def after_call_default(self, end):
        """`get(...) or <literal>` / `get(...) ~= false`: a default or a type
        hint following the call."""
        toks = self.toks
        if toks[end].is_kw("or"):
            lo = end + 1
            if toks[lo].is_op("{"):
                hi = match_close(toks, lo) + 1
            else:
                hi = lo + 1
            nxt = toks[hi]
            if nxt.is_op("..", "+", "-", "*", "/", ".", ":", "(", "[", "^", "%") or nxt.kind == "string":
                return None, None
            try:
                v = literal(toks, lo, hi, self.modname)
            except NotLiteral:
                return None, None
            if v is None:
                return None, None
            return "default", v
        if toks[end].is_op("==", "~=") and toks[end + 1].is_kw("true", "false"):
            return "boolean", None
        return None, None

    # -- scanning ------------------------------------------------------------
    def scan(self):
        for line in self.src.splitlines():
            m = re.match(r"^--%\s*([\w_]+):\s*(.+?)\s*$", line)
            if m:
                self.metadata[m.group(1)] = m.group(2)
        m = re.search(r"has been renamed to mod_([\w_]+)", self.src)
        if m:
            self.renamed_to = m.group(1)

        toks = self.toks
        cm_modules = set()   # locals bound to the configmanager module
        cm_getters = set()   # locals bound to configmanager.get
        for i, t in enumerate(toks):
            # local NAME = require "prosody.core.configmanager" [.get]
            if t.is_kw("local") and toks[i + 1].kind == "name" and toks[i + 2].is_op("="):
                j = i + 3
                if toks[j].text == "require":
                    j += 1
                    paren = toks[j].is_op("(")
                    if paren:
                        j += 1
                    if toks[j].kind == "string" and toks[j].value in CONFIGMANAGER_MODULES:
                        j += 1
                        if paren and toks[j].is_op(")"):
                            j += 1
                        if toks[j].is_op(".") and toks[j + 1].text in ("get", "rawget") \
                                and not toks[j + 2].is_op("("):
                            cm_getters.add(toks[i + 1].text)
                        elif not toks[j].is_op(".", ":"):
                            cm_modules.add(toks[i + 1].text)
                elif toks[j].kind == "name" and toks[j].text in cm_modules and toks[j + 1].is_op(".") \
                        and toks[j + 2].text in ("get", "rawget") and not toks[j + 3].is_op("("):
                    cm_getters.add(toks[i + 1].text)

        # Local aliases and thin wrappers of the typed getters:
        #   local get = module.get_option_string      -> get(module, "x")
        #   local function opt(name, default)
        #       return module:get_option_number("prefix_"..name, default) end
        aliases = {}   # NAME -> getter (called with the module as first argument)
        wrappers = {}  # NAME -> (getter, prefix, suffix)
        for i, t in enumerate(toks):
            if t.is_kw("local") and toks[i + 1].kind == "name" and toks[i + 2].is_op("=") \
                    and toks[i + 3].text == "module" and toks[i + 4].is_op(".") \
                    and toks[i + 5].text in TYPED_GETTERS and not toks[i + 6].is_op("("):
                aliases[toks[i + 1].text] = toks[i + 5].text
            if t.is_kw("function") and toks[i + 1].kind == "name" and toks[i + 2].is_op("(") \
                    and toks[i + 3].kind == "name":
                param = toks[i + 3].text
                for j in range(i + 4, min(i + 60, len(toks) - 4)):
                    if toks[j].is_kw("function", "end"):
                        break
                    if toks[j].is_op(":") and toks[j + 1].text in TYPED_GETTERS and toks[j + 2].is_op("("):
                        args, _ = call_args(toks, j + 2)
                        if not args:
                            break
                        lo, hi = args[0]
                        parts = split_top(toks, lo, hi, seps=("..",))
                        names = [k for k, (plo, phi) in enumerate(parts)
                                 if phi - plo == 1 and toks[plo].text == param]
                        if len(names) == 1:
                            try:
                                pre = "".join(str(literal(toks, a, b, self.modname)) for a, b in parts[:names[0]])
                                post = "".join(str(literal(toks, a, b, self.modname)) for a, b in parts[names[0] + 1:])
                            except NotLiteral:
                                break
                            wrappers[toks[i + 1].text] = (toks[j + 1].text, pre, post)
                        break

        n = len(toks)
        for i, t in enumerate(toks):
            if t.kind != "name":
                continue
            prev = toks[i - 1] if i else None
            if (t.text in aliases or t.text in wrappers) and toks[i + 1].is_op("(") and not (
                    prev is not None and (prev.is_kw("function", "local") or prev.is_op(".", ":", ","))):
                args, end = call_args(toks, i + 1)
                if t.text in aliases:
                    if args and len(args) > 1:
                        self.getter_read(aliases[t.text], args[1:], end, False, t.pos,
                                         receiver=args[0][0] if args[0][1] - args[0][0] == 1 else -1)
                elif args:
                    getter, pre, post = wrappers[t.text]
                    self.getter_read(getter, args, end, False, t.pos, affix=(pre, post))
                continue
            # module:get_option_*(...) and any other receiver
            if t.text in TYPED_GETTERS and prev is not None and prev.is_op(":"):
                if i >= 3 and toks[i - 3].is_kw("function"):
                    continue  # a definition (core/moduleapi.lua), not a read
                args, end = call_args(toks, i + 1)
                if args:
                    self.getter_read(t.text, args, end, self.receiver_is_global_context(i - 1), t.pos,
                                     receiver=i - 2)
                continue
            # configmanager.get(host, key) / config.get / config_get
            if prev is not None and prev.is_op(".", ":"):
                if t.text in ("get", "rawget") and prev.is_op(".") and self.inline_require_cm(i - 2):
                    # require"prosody.core.configmanager".get("*", "network_backend")
                    args, end = call_args(toks, i + 1)
                    if args and 2 <= len(args) <= 3:
                        self.config_get_read(args, end, t.pos)
                elif t.text in ("get", "rawget") and i >= 2 and prev.is_op(".") and (
                        toks[i - 2].text in cm_modules or toks[i - 2].text in ("configmanager", "config")
                        and toks[i - 2].kind == "name" and (i < 3 or not toks[i - 3].is_op(".", ":"))):
                    args, end = call_args(toks, i + 1)
                    if args and 2 <= len(args) <= 3:
                        self.config_get_read(args, end, t.pos)
                elif t.text in ("depends",) and prev.is_op(":") and toks[i - 2].text == "module":
                    args, _ = call_args(toks, i + 1)
                    if args:
                        try:
                            v = self.lit(args[0])
                            if isinstance(v, str):
                                self.depends.add(v)
                        except NotLiteral:
                            self.dynamic_depends = True
                elif t.text == "require" and prev.is_op(":") and toks[i - 2].text == "module":
                    args, _ = call_args(toks, i + 1)
                    if args:
                        try:
                            v = self.lit(args[0])
                            if isinstance(v, str):
                                self.requires.append(v)
                        except NotLiteral:
                            pass
                elif t.text == "provides" and prev.is_op(":") and toks[i - 2].text == "module":
                    args, _ = call_args(toks, i + 1)
                    if args:
                        try:
                            kind = self.lit(args[0])
                        except NotLiteral:
                            continue
                        fields = {}
                        if len(args) > 1 and toks[args[1][0]].is_op("{"):
                            try:
                                fields = self.lit(args[1], partial=True)
                            except NotLiteral:
                                fields = {}
                            if not isinstance(fields, dict):
                                fields = {}
                        self.provides.append((kind, fields))
                elif t.text == "set_global" and prev.is_op(":") and toks[i - 2].text == "module":
                    self.set_global = True
                elif t.text == "host" and prev.is_op(".") and toks[i - 2].text == "module" \
                        and toks[i + 1].is_op("=") and toks[i + 2].kind == "string" and toks[i + 2].value == "*":
                    self.set_global = True
                elif t.text == "add_host" and prev.is_op(".") and toks[i - 2].text == "module" and (
                        toks[i - 3].is_kw("function") or toks[i + 1].is_op("=")):
                    self.add_host = True
                continue
            # config_get(host, key) through a local alias
            if t.text in cm_getters and i + 1 < n and toks[i + 1].is_op("(") and not (
                    prev is not None and (prev.is_kw("local", "function") or prev.is_op(","))):
                args, end = call_args(toks, i + 1)
                if args and 2 <= len(args) <= 3:
                    self.config_get_read(args, end, t.pos)

    def inline_require_cm(self, j):
        """toks[j] ends `require "configmanager"` or `require("configmanager")`."""
        toks = self.toks
        if j < 1:
            return False
        if toks[j].kind == "string":
            return toks[j].value in CONFIGMANAGER_MODULES and toks[j - 1].text == "require"
        if toks[j].is_op(")") and j >= 3 and toks[j - 1].kind == "string" and toks[j - 2].is_op("("):
            return toks[j - 1].value in CONFIGMANAGER_MODULES and toks[j - 3].text == "require"
        return False

    def option_name(self, rng, pos):
        try:
            v = self.lit(rng)
        except NotLiteral:
            self.dynamic.append((self.line(pos), self.text(rng)))
            return None
        if isinstance(v, str):
            return v
        self.dynamic.append((self.line(pos), self.text(rng)))
        return None

    def getter_read(self, getter, args, end, global_context, pos, affix=None, receiver=None):
        name = self.option_name(args[0], pos)
        if name is None:
            return
        if affix:
            name = affix[0] + name + affix[1]
        typ = TYPED_GETTERS[getter]
        spec = {"getter": getter}
        default = None
        has_default = False
        if len(args) > 1:
            try:
                default = self.lit(args[1])
                has_default = default is not None
            except NotLiteral:
                pass
        if not has_default:
            kind, v = self.after_call_default(end)
            if kind == "default":
                default, has_default = v, True
            elif kind == "boolean" and typ == "any":
                typ = "boolean"
        if typ == "enum":
            values = []
            for rng in args[1:]:
                try:
                    v = self.lit(rng)
                except NotLiteral:
                    continue
                if v is not None and v not in values:
                    values.append(v)
            spec["values"] = values
        if typ in ("number", "integer", "period"):
            for key, idx in (("min", 2), ("max", 3)):
                if len(args) > idx:
                    try:
                        v = self.lit(args[idx])
                    except NotLiteral:
                        continue
                    if isinstance(v, str) and typ == "period":
                        v = parse_duration(v)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        spec[key] = clean_number(v)
        if typ == "path" and len(args) > 2:
            try:
                v = self.lit(args[2])
                if isinstance(v, str):
                    spec["parent"] = v
            except NotLiteral:
                pass
        if getter == "get_option_inherited_set":
            spec["inherited"] = True
        if typ == "any" and has_default:
            typ = type_of_literal(default)
        if has_default:
            spec["default"] = clean_number(default) if not isinstance(default, bool) else default
        if global_context:
            spec["context"] = "global"
        elif receiver != -1 and self.toplevel_read(receiver, pos):
            # Global context if the module turns out to be global (build()).
            spec["_toplevel"] = True
        spec["type"] = typ
        self.reads.append((name, spec))

    def config_get_read(self, args, end, pos):
        try:
            host = self.lit(args[0])
        except NotLiteral:
            host = None
        key_rng = args[1]
        if len(args) == 3:
            # pre-0.9 API: config.get(host, "core", key)
            try:
                if self.lit(args[1]) != "core":
                    return
            except NotLiteral:
                return
            key_rng = args[2]
        name = self.option_name(key_rng, pos)
        if name is None:
            return
        spec = {"getter": "configmanager.get"}
        typ = "any"
        kind, v = self.after_call_default(end)
        if kind == "default":
            spec["default"] = clean_number(v) if not isinstance(v, bool) else v
            typ = type_of_literal(v)
        elif kind == "boolean":
            typ = "boolean"
        if host == "*":
            spec["context"] = "global"
        spec["type"] = typ
        self.reads.append((name, spec))


TYPE_RANK = {"any": 0, "scalar": 1, "table": 1}


def merge_reads(reads):
    """Fold several reads of the same option into one spec: the first typed
    read wins; differing types are kept in alt_types.  `_toplevel` (read
    through the module's own `module` object) stays only if every read is."""
    out = {}
    toplevel = {}
    for name, spec in reads:
        toplevel[name] = toplevel.get(name, True) and bool(spec.get("_toplevel"))
    for name, spec in reads:
        cur = out.get(name)
        if cur is None:
            out[name] = dict(spec)
            continue
        if TYPE_RANK.get(cur["type"], 2) < TYPE_RANK.get(spec["type"], 2):
            alt = set(cur.get("alt_types", [])) | {cur["type"]}
            new = dict(spec)
            if "default" not in new and "default" in cur:
                new["default"] = cur["default"]
            alt.discard(new["type"])
            if alt - {"any"}:
                new["alt_types"] = sorted(alt - {"any"})
            out[name] = new
            continue
        if spec["type"] != cur["type"] and spec["type"] != "any":
            alt = set(cur.get("alt_types", [])) | {spec["type"]}
            alt.discard(cur["type"])
            cur["alt_types"] = sorted(alt)
        for key in ("default", "min", "max", "values", "parent"):
            if key not in cur and key in spec and spec["type"] == cur["type"]:
                cur[key] = spec[key]
        if spec.get("context") != "global":
            cur.pop("context", None)
    for name, spec in out.items():
        spec.pop("_toplevel", None)
        if toplevel[name]:
            spec["_toplevel"] = True
    return out


# ---------------------------------------------------------------------------
# Installed files, packages, module resolution

def dpkg_files(pkg):
    try:
        out = subprocess.run(["dpkg", "-L", pkg], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line.strip() for line in out.splitlines() if line.strip()}


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.strip() or None


def loader_names(plugin, resource):
    """util/pluginloader.lua load_resource: candidate paths relative to the
    plugin directory, in order."""
    return [f"mod_{plugin}/{plugin}/{resource}", f"mod_{plugin}/{resource}",
            f"{plugin}/{resource}", resource]


def resolve_module(name, exists):
    for rel in loader_names(name, f"mod_{name}.lua"):
        if exists(rel):
            return rel
    return None


def resolve_lib(modname, lib, exists):
    """util/pluginloader.lua load_code_ext(plugin, resource, "lib.lua")."""
    for rel in loader_names(modname, lib + ".lib.lua") + loader_names(modname, lib + ".lua") \
            + loader_names(lib, lib + ".lib.lua"):
        if exists(rel):
            return rel
    return None


def rel_of(path: Path):
    return path.relative_to(MODULES_DIR).as_posix()


def parse_features():
    scan = tokenize((ROOT / "core" / "features.lua").read_text())
    for i, t in enumerate(scan):
        if t.text == "available" and scan[i + 1].is_op("="):
            j = i + 2
            while not scan[j].is_op("{"):
                j += 1
            return sorted(table_literal(scan, j + 1, match_close(scan, j)))
    return []


def parse_named_list(path: Path, var: str):
    """`local VAR = { "a", "b" }` or `= set.new({ ... })` in a Lua file."""
    toks = tokenize(path.read_text())
    for i, t in enumerate(toks):
        if t.text == var and toks[i + 1].is_op("=") and toks[i - 1].is_kw("local"):
            j = i + 2
            while not toks[j].is_op("{"):
                j += 1
            return table_literal(toks, j + 1, match_close(toks, j), partial=True)
    return None


def lua_pattern_to_regex(pat: str) -> str:
    classes = {"d": r"\d", "a": "[A-Za-z]", "w": "[A-Za-z0-9]", "s": r"\s",
               "l": "[a-z]", "u": "[A-Z]", "x": "[0-9A-Fa-f]", "p": r"[!-/:-@\[-`{-~]"}
    out = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if c == "%" and i + 1 < len(pat):
            n = pat[i + 1]
            out.append(classes.get(n, re.escape(n)))
            i += 2
            continue
        if c == "-":
            out.append("*?")
        elif c in "^$?*+[]().":
            out.append(c)
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------
# check.lua: global-only options, deprecated and obsolete options

def parse_check_lua():
    src = CHECK_LUA.read_text()
    toks = tokenize(src)
    result = {}

    def find_local(var):
        for i, t in enumerate(toks):
            if t.text == var and toks[i - 1].is_kw("local") and toks[i + 1].is_op("="):
                return i
        raise SystemExit(f"gen-prosody-index: {var} not found in {CHECK_LUA}")

    def table_after(i):
        j = i
        while not toks[j].is_op("{"):
            j += 1
        return j, match_close(toks, j)

    lo, hi = table_after(find_local("known_global_options"))
    result["known_global_options"] = sorted(table_literal(toks, lo + 1, hi))
    lo, hi = table_after(find_local("obsolete"))
    result["obsolete"] = sorted(table_literal(toks, lo + 1, hi))

    # deprecated_replacements: values are strings or instead_use(kind, name, value)
    lo, hi = table_after(find_local("deprecated_replacements"))
    deprecated = {}
    for flo, fhi in split_top(toks, lo + 1, hi, seps=(",", ";")):
        if not (toks[flo].kind == "name" and toks[flo + 1].is_op("=")):
            continue
        key = toks[flo].text
        vlo = flo + 2
        entry = {}
        if toks[vlo].text == "instead_use":
            args, _ = call_args(toks, vlo + 1)
            vals = [literal(toks, a, b) for a, b in args]
            kind, name, value = (vals + [None, None, None])[:3]
            if kind == "option":
                entry = {"kind": "option", "replacement": name}
                if value is not None:
                    entry["value"] = value
                    entry["message"] = f"instead, use '{name} = \"{value}\"'"
                else:
                    entry["message"] = f"instead, use '{name}'"
            elif kind == "module":
                entry = {"kind": "module", "replacement": name,
                         "list": value or "modules_enabled",
                         "message": f"instead, add \"{name}\" to '{value or 'modules_enabled'}'"}
            elif kind == "community":
                entry = {"kind": "community", "replacement": re.sub(r"^mod_", "", name),
                         "message": f"instead, add \"{name}\" from {value or 'prosody-modules'}"}
            else:
                # instead_use() called with a single argument returns it verbatim
                entry = {"kind": "option" if re.fullmatch(r"[a-z0-9_]+", kind or "") else "text",
                         "message": kind}
                if entry["kind"] == "option":
                    entry["replacement"] = kind
        else:
            msg = literal(toks, vlo, fhi)
            entry = {"kind": "text", "message": msg}
            m = re.fullmatch(r"instead, use '([a-z0-9_]+)'(?: and '([a-z0-9_]+)')?", msg)
            found = re.findall(r"'([a-z0-9_]+)'", msg)
            if m or found:
                entry["kind"] = "option"
                entry["replacement"] = found[0]
                if len(found) > 1:
                    entry["also"] = found[1:]
        deprecated[key] = entry

    # deprecated_ports: { bosh = "http", legacy_ssl = "c2s_direct_tls" } x port_suffixes
    lo, hi = table_after(find_local("deprecated_ports"))
    ports = table_literal(toks, lo + 1, hi)
    lo, hi = table_after(find_local("port_suffixes"))
    suffixes = table_literal(toks, lo + 1, hi)
    for port, replacement in sorted(ports.items()):
        for suffix in suffixes:
            rsuffix = suffix + "s" if suffix in ("port", "interface") else suffix
            deprecated[f"{port}_{suffix}"] = {
                "kind": "option", "replacement": f"{replacement}_{rsuffix}",
                "message": f"instead, use '{replacement}_{rsuffix}'"}
    result["deprecated_replacements"] = deprecated

    # The misplaced-option loop: name:match("...") patterns, `not` ones are exceptions.
    m = re.search(r"for name in pairs\(options\) do(.*?)misplaced_options:add", src, re.DOTALL)
    if not m:
        raise SystemExit("gen-prosody-index: misplaced-options loop not found in check.lua")
    patterns = []
    for neg, pat in re.findall(r"(not\s+)?name:match\(\"([^\"]+)\"\)", m.group(1)):
        if neg and patterns:
            patterns[-1]["unless"] = {"lua": pat, "regex": lua_pattern_to_regex(pat)}
        else:
            patterns.append({"lua": pat, "regex": lua_pattern_to_regex(pat)})
    result["global_only_patterns"] = patterns
    m = re.search(r"misplaced_options:exclude\(set\.new\(\{([^}]*)\}\)\)", src)
    result["global_only_exceptions"] = sorted(re.findall(r"\"([^\"]+)\"", m.group(1))) if m else []

    # Modules prosodyctl check calls deprecated / conflicting
    obsolete_modules = {}
    for mod in re.findall(r'all_modules:contains\("([\w_]+)"\) then\s*print\(""\);\s*print\("\s*mod_\1 is loaded[^"]*"\);\s*'
                          r'print\("\s*been deprecated', src):
        obsolete_modules[mod] = {"kind": "deprecated", "replacement": None, "source": "check.lua",
                                 "message": f"mod_{mod} has been deprecated; you can safely remove it"}
    result["obsolete_modules"] = obsolete_modules
    conflicts = re.findall(r'all_modules:contains\("([\w_]+)"\) and all_modules:contains\("([\w_]+)"\)', src)
    result["conflicting_modules"] = sorted([sorted(p) for p in conflicts])
    return result


# ---------------------------------------------------------------------------
# Build

def global_reads(options, set_global):
    """A global module (module:set_global()) reads its options through its
    own `module` object from the global section: `http_cors_override` is
    read by mod_http from the global section only, host copies are ignored.
    Reads through a host's module (module.add_host, moduleapi functions
    taking `module`) stay per host."""
    for spec in options.values():
        if spec.pop("_toplevel", False) and set_global:
            spec["context"] = "global"
    return options


def net_service_options(modname, fields):
    """Options portmanager/certmanager read for a network service provided
    with module:provides("net", {...})."""
    # core/moduleapi.lua provides(): an unnamed item takes the module's name,
    # less a "net_" prefix.
    name = fields.get("name") or (modname[4:] if modname.startswith("net_") else modname)
    prefix = fields.get("config_prefix", name)
    prefix = f"{prefix}_" if prefix else ""
    encryption = fields.get("encryption")
    opts = {
        f"{prefix}ports": {"type": "set", "getter": "portmanager", "context": "global"},
        f"{prefix}interfaces": {"type": "set", "getter": "portmanager", "context": "global"},
        f"{prefix}interface": {"type": "set", "getter": "portmanager", "context": "global", "compat": True},
    }
    if "default_port" in fields:
        opts[f"{prefix}ports"]["default"] = [fields["default_port"]]
    if encryption == "ssl":
        if prefix and prefix != "ssl_":
            opts[f"{prefix}ssl"] = {"type": "table", "getter": "portmanager", "context": "global"}
        opts[f"{name}_certificate"] = {"type": "any", "getter": "certmanager", "context": "global"}
        if name != "https":  # portmanager falls back to http_host for https
            opts[f"{name}_host"] = {"type": "string", "getter": "portmanager"}
    service = {"name": name}
    for key in ("config_prefix", "default_port", "encryption", "private"):
        if key in fields:
            service[key] = fields[key]
    return service, opts


def build():
    core_files = dpkg_files("prosody")
    community_files = dpkg_files("prosody-modules")
    installed = {p.as_posix() for p in MODULES_DIR.rglob("*.lua")}

    def exists(rel):
        return (MODULES_DIR / rel).as_posix() in installed

    features = set(parse_features())
    # Candidate module names: every mod_X.lua under modules/
    names = set()
    for p in installed:
        m = re.fullmatch(r"mod_([\w\-]+)\.lua", os.path.basename(p))
        if m:
            names.add(m.group(1))

    scans = {}

    def scan(rel, modname):
        key = (rel, modname)
        if key not in scans:
            scans[key] = FileScan(MODULES_DIR / rel, modname)
        return scans[key]

    modules = {}
    unloadable = []
    for name in sorted(names):
        candidates = [rel for rel in loader_names(name, f"mod_{name}.lua") if exists(rel)]
        if not candidates:
            unloadable.extend(sorted(rel_of(Path(p)) for p in installed
                                     if os.path.basename(p) == f"mod_{name}.lua"))
            continue
        # The loader skips a file whose `--% conflicts:` names a core feature
        # (core/modulemanager.lua load_filter_cb); the next candidate loads.
        chosen = None
        shadowed = []
        for rel in candidates:
            fs = scan(rel, name)
            conflicts = set(re.split(r"[, ]+", fs.metadata.get("conflicts", "")) or []) - {""}
            requires = set(re.split(r"[, ]+", fs.metadata.get("requires", "")) or []) - {""}
            skipped = bool(conflicts & features) or bool(requires - features)
            if chosen is None and not skipped:
                chosen = rel
            else:
                shadowed.append((rel, "skipped: conflicts with a core feature" if skipped else "shadowed"))
        if chosen is None:
            chosen = candidates[0]
        main = scan(chosen, name)
        path = (MODULES_DIR / chosen).as_posix()
        origin = "core" if path in core_files else "community" if path in community_files else "local"

        # Library files reached through module:require, transitively.
        files = [chosen]
        queue = [main]
        while queue:
            fs = queue.pop()
            for lib in fs.requires:
                rel = resolve_lib(name, lib, exists)
                if rel and rel not in files:
                    files.append(rel)
                    queue.append(scan(rel, name))
        file_scans = [scan(rel, name) for rel in files]

        reads = []
        depends = set()
        provides = set()
        services = []
        dynamic = []
        for fs in file_scans:
            reads.extend(fs.reads)
            depends |= fs.depends
            for kind, fields in fs.provides:
                if isinstance(kind, str):
                    provides.add(kind)
                if kind == "net":
                    service, opts = net_service_options(name, fields)
                    services.append(service)
                    reads.extend(opts.items())
            dynamic.extend({"file": rel_of(fs.path), "line": ln, "expr": ex} for ln, ex in fs.dynamic)

        entry = {
            "name": name,
            "origin": origin,
            "path": path,
            "options": global_reads(merge_reads(reads), main.set_global),
            "depends": sorted(depends),
            "set_global": main.set_global,
            "add_host": main.add_host,
            "global_only": main.set_global and not main.add_host,
        }
        if origin == "community":
            entry["package"] = "prosody-modules"
        elif origin == "core":
            entry["package"] = "prosody"
        if len(files) > 1:
            entry["files"] = [(MODULES_DIR / rel).as_posix() for rel in files]
        if main.metadata:
            meta = dict(main.metadata)
            entry["metadata"] = meta
            for key in ("requires", "conflicts"):
                if key in meta:
                    entry[key] = sorted(set(re.split(r"[, ]+", meta[key])) - {""})
        if name in COMPONENT_MODULES:
            entry["component"] = COMPONENT_MODULES[name]
        if provides:
            entry["provides"] = sorted(provides)
        if services:
            entry["net_services"] = sorted(services, key=lambda s: s["name"])
        if shadowed:
            entry["shadowed"] = []
            for rel, why in shadowed:
                other = {"path": (MODULES_DIR / rel).as_posix(), "reason": why,
                         "origin": "core" if (MODULES_DIR / rel).as_posix() in core_files else "community"}
                if scan(rel, name).metadata:
                    other["metadata"] = scan(rel, name).metadata
                entry["shadowed"].append(other)
        if dynamic:
            entry["dynamic_reads"] = sorted(dynamic, key=lambda d: (d["file"], d["line"]))
        if main.renamed_to:
            entry["renamed_to"] = main.renamed_to
        modules[name] = entry

    for name, sup in SUPPLEMENT_MODULES.items():
        if name in modules:
            continue
        modules[name] = {
            "name": name,
            "origin": sup["origin"],
            "package": sup["package"],
            "path": (MODULES_DIR / f"mod_{name}" / f"mod_{name}.lua").as_posix(),
            "installed": False,
            "note": sup["note"],
            "options": {k: dict(v, getter="documented") for k, v in sup["options"].items()},
            "depends": sup["depends"],
            "set_global": False,
            "add_host": False,
            "global_only": False,
            **({"component": COMPONENT_MODULES[name]} if name in COMPONENT_MODULES else {}),
        }

    # Core options: core/, net/, util/ (recursively), loader.lua, executables.
    core_sources = sorted(p for sub in ("core", "net", "util") for p in (ROOT / sub).rglob("*.lua"))
    core_sources += [ROOT / "loader.lua"] + [p for p in EXECUTABLES if p.exists()]
    core_options = {}
    core_dynamic = []
    for p in core_sources:
        fs = FileScan(p, None)
        rel = p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.as_posix()
        for name, spec in merge_reads(fs.reads).items():
            spec = dict(spec)
            spec.pop("getter", None)
            spec.pop("_toplevel", None)
            cur = core_options.get(name)
            if cur is None:
                spec["files"] = [rel]
                core_options[name] = spec
            else:
                if rel not in cur["files"]:
                    cur["files"].append(rel)
                merged = merge_reads([(name, {k: v for k, v in cur.items() if k != "files"}),
                                      (name, spec)])[name]
                merged["files"] = cur["files"]
                core_options[name] = merged
        if rel != "core/moduleapi.lua":  # the getters' own implementation
            core_dynamic.extend({"file": rel, "line": ln, "expr": ex} for ln, ex in fs.dynamic)
    for name, spec in core_options.items():
        spec["files"] = sorted(spec["files"])
        if spec["type"] == "any" and name in CORE_TYPE_HINTS:
            spec["type"] = CORE_TYPE_HINTS[name]
            spec["type_source"] = "hint"

    check = parse_check_lua()
    obsolete_modules = {}
    for name, spec in CURATED_OBSOLETE_MODULES.items():
        obsolete_modules[name] = dict(spec, source="curated")
    for name, entry in modules.items():
        if entry.get("renamed_to"):
            obsolete_modules[name] = {"kind": "renamed", "replacement": entry["renamed_to"],
                                      "source": "stub module",
                                      "message": f"mod_{name} has been renamed to mod_{entry['renamed_to']}"}
    obsolete_modules.update(check["obsolete_modules"])

    deprecated_options = {}
    for name in check["obsolete"]:
        deprecated_options[name] = {"kind": "obsolete", "message": "obsolete option, remove it",
                                    "source": "check.lua"}
    for name, spec in check["deprecated_replacements"].items():
        deprecated_options[name] = dict(spec, source="check.lua")

    autoload = parse_named_list(ROOT / "core" / "modulemanager.lua", "autoload_modules") or []
    inheritable = parse_named_list(ROOT / "core" / "modulemanager.lua", "component_inheritable_modules") or []

    all_options = set(core_options)
    for entry in modules.values():
        all_options |= set(entry["options"])
    n_core = sum(1 for m in modules.values() if m["origin"] == "core")
    n_comm = sum(1 for m in modules.values() if m["origin"] == "community")

    index = {
        "schema_version": SCHEMA_VERSION,
        "generator": "scripts/gen-prosody-index.py",
        "root": ROOT.as_posix(),
        "packages": {"prosody": dpkg_version("prosody"),
                     "prosody-modules": dpkg_version("prosody-modules")},
        "prosody_version": (ROOT / "prosody.version").read_text().strip()
        if (ROOT / "prosody.version").exists() else None,
        "modules": modules,
        "core_options": core_options,
        "core_features": sorted(features),
        "autoload_modules": sorted(autoload),
        "component_inheritable_modules": sorted(inheritable),
        "global_only": check["known_global_options"],
        "global_only_patterns": check["global_only_patterns"],
        "global_only_exceptions": check["global_only_exceptions"],
        "deprecated": {"options": deprecated_options, "modules": obsolete_modules},
        "conflicting_modules": check["conflicting_modules"],
        "unloadable_module_files": sorted(unloadable),
        "dynamic_core_reads": sorted(core_dynamic, key=lambda d: (d["file"], d["line"])),
        "counts": {
            "modules": len(modules),
            "core_modules": n_core,
            "community_modules": n_comm,
            "options": len(all_options),
            "module_options": len(set().union(*(set(m["options"]) for m in modules.values()))),
            "core_options": len(core_options),
            "global_only": len(check["known_global_options"]),
            "deprecated_options": len(deprecated_options),
            "obsolete_modules": len(obsolete_modules),
        },
    }
    return index


# ---------------------------------------------------------------------------
# Upstream prosody-modules: modules Debian's binary package does not ship

DEFAULT_UPSTREAM_OUTPUT = REPO / "data" / "prosody-modules-upstream.json"
UPSTREAM_SCHEMA_VERSION = 1


def git_dir(path: Path) -> Path:
    """The git directory of a mirror: a bare repository, or a work tree's .git."""
    if (path / "HEAD").exists() and (path / "objects").exists():
        return path
    if (path / ".git").exists():
        return path / ".git"
    raise SystemExit(f"gen-prosody-index: --upstream {path}: not a git repository")


def git(gdir: Path, *args, data=None) -> bytes:
    try:
        return subprocess.run(["git", f"--git-dir={gdir}", *args], check=True,
                              capture_output=True, input=data).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        raise SystemExit(f"gen-prosody-index: git {' '.join(args)} in {gdir} failed: "
                         f"{err.decode(errors='replace').strip() or exc}") from exc


def mirror_name(path: Path) -> str:
    """owner/name from a mirror path such as /work/.mirror/owner+name/repo."""
    for part in reversed(path.resolve().parts):
        if "+" in part:
            owner, _, name = part.partition("+")
            return f"{owner}/{name}"
    return path.resolve().name


def read_blobs(gdir: Path, commit: str, paths):
    """{path: text} for the given paths at commit, in one `git cat-file --batch`."""
    paths = list(paths)
    if not paths:
        return {}
    out = git(gdir, "cat-file", "--batch", data="".join(f"{commit}:{p}\n" for p in paths).encode())
    texts = {}
    pos = 0
    for p in paths:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        pos = nl + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        texts[p] = out[pos:pos + size].decode("utf-8", errors="replace")
        pos += size + 1
    return texts


def readme_component(readme: str, name: str):
    """`Component "x" "name"` in a module's README: it is (also) a component."""
    if not re.search(r"""Component\s*\(?\s*["'][^"'\n]+["']\s*\)?\s*["']%s["']""" % re.escape(name),
                     readme):
        return None
    listed = re.search(r"""modules_enabled[^\n]*["']%s["']|^\s*["']%s["']\s*[,;]""" % (re.escape(name), re.escape(name)),
                       readme, re.MULTILINE)
    return "optional" if listed else "only"


def scan_mirror(path: Path):
    """Every module of one prosody-modules mirror, indexed like the installed
    ones (options, types, defaults, depends, --% headers, services)."""
    gdir = git_dir(path)
    commit, date = git(gdir, "log", "-1", "--format=%H %cI", "HEAD").decode().split()
    files = [f for f in git(gdir, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
             if f.startswith("mod_")]
    present = set(files)
    wanted = [f for f in files if f.endswith(".lua") or os.path.basename(f).lower().startswith("readme")]
    texts = read_blobs(gdir, commit, wanted)
    source = {"repository": mirror_name(path), "commit": commit, "date": date}
    modules = {}
    for d in sorted({f.split("/", 1)[0] for f in files}):
        name = d[4:]
        if not re.fullmatch(r"[\w\-]+", name):
            continue

        def exists(rel):
            return rel in present and rel in texts

        chosen = resolve_module(name, exists)
        if chosen is None:
            continue
        scans = {}

        def scan(rel):
            if rel not in scans:
                scans[rel] = FileScan(Path(rel), name, src=texts[rel])
            return scans[rel]

        main = scan(chosen)
        files_used = [chosen]
        queue = [main]
        while queue:
            fs = queue.pop()
            for lib in fs.requires:
                rel = resolve_lib(name, lib, exists)
                if rel and rel not in files_used:
                    files_used.append(rel)
                    queue.append(scan(rel))
        reads, depends, provides, services = [], set(), set(), []
        for rel in files_used:
            fs = scan(rel)
            reads.extend(fs.reads)
            depends |= fs.depends
            for kind, fields in fs.provides:
                if isinstance(kind, str):
                    provides.add(kind)
                if kind == "net":
                    service, opts = net_service_options(name, fields)
                    services.append(service)
                    reads.extend(opts.items())
        entry = {
            "name": name,
            "origin": "community",
            "path": chosen,
            "installed": False,
            "options": global_reads(merge_reads(reads), main.set_global),
            "depends": sorted(depends),
            "set_global": main.set_global,
            "add_host": main.add_host,
            "global_only": main.set_global and not main.add_host,
        }
        if main.metadata:
            entry["metadata"] = dict(main.metadata)
            for key in ("requires", "conflicts"):
                if key in main.metadata:
                    entry[key] = sorted(set(re.split(r"[, ]+", main.metadata[key])) - {""})
        readme = next((texts[f] for f in sorted(texts) if f.startswith(d + "/")
                       and os.path.basename(f).lower().startswith("readme")), "")
        component = COMPONENT_MODULES.get(name) or readme_component(readme, name)
        if component:
            entry["component"] = component
        if provides:
            entry["provides"] = sorted(provides)
        if services:
            entry["net_services"] = sorted(services, key=lambda s: s["name"])
        if main.renamed_to:
            entry["renamed_to"] = main.renamed_to
        modules[name] = entry
    return source, modules


def build_upstream(paths, installed):
    """Modules the mirrors have that the installed packages do not.  The
    newest mirror's version of a module wins; a module only older mirrors
    have is kept and marked removed upstream."""
    mirrors = [scan_mirror(Path(p)) for p in paths]
    # Newest first, by the commit's instant (dates carry their own offsets).
    mirrors.sort(key=lambda m: datetime.fromisoformat(m[0]["date"].replace("Z", "+00:00")),
                 reverse=True)
    newest = mirrors[0][1] if mirrors else {}
    modules = {}
    for source, mods in mirrors:
        for name, entry in mods.items():
            if name in modules or name in installed["modules"]:
                continue
            entry = dict(entry)
            entry["upstream"] = dict(source, removed=name not in newest)
            modules[name] = entry
    sources = []
    for source, mods in mirrors:
        sources.append(dict(source, modules=len(mods),
                            indexed=sum(1 for m in modules.values()
                                        if m["upstream"]["commit"] == source["commit"])))
    return {
        "schema_version": UPSTREAM_SCHEMA_VERSION,
        "generator": "scripts/gen-prosody-index.py --upstream",
        "note": "modules of upstream prosody-modules that the installed packages do not ship "
                "(installed: false); regenerate by hand with scripts/gen-prosody-index.py "
                "--upstream MIRROR... (see docs/validation.md)",
        "excludes_packages": installed["packages"],
        "sources": sources,
        "modules": modules,
        "counts": {
            "modules": len(modules),
            "removed_upstream": sum(1 for m in modules.values() if m["upstream"]["removed"]),
            "options": len(set().union(*(set(m["options"]) for m in modules.values()))) if modules else 0,
        },
    }


def render(index) -> str:
    return json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if the output file differs")
    ap.add_argument("--output", default=None,
                    help="output path, or - for stdout (default: data/prosody-index.json, "
                         "or data/prosody-modules-upstream.json with --upstream)")
    ap.add_argument("--upstream", nargs="+", metavar="MIRROR",
                    help="git mirrors of prosody-modules: index the modules they have and the "
                         "installed packages do not (installed: false) into the upstream file")
    args = ap.parse_args(argv)
    if args.output is None:
        args.output = str(DEFAULT_UPSTREAM_OUTPUT if args.upstream else DEFAULT_OUTPUT)
    if args.upstream and args.check:
        ap.error("--check checks the installed part only; it cannot be combined with --upstream")

    if not (ROOT / "core" / "moduleapi.lua").exists():
        print(f"gen-prosody-index: Prosody is not installed at {ROOT}; run scripts/install-deps.sh",
              file=sys.stderr)
        return 2
    index = build()
    if args.upstream:
        for p in args.upstream:
            if not Path(p).is_dir():
                ap.error(f"--upstream {p}: no such directory")
        up = build_upstream(args.upstream, index)
        for src in up["sources"]:
            print(f"gen-prosody-index: {src['repository']} {src['commit'][:12]} ({src['date']}): "
                  f"{src['modules']} modules, {src['indexed']} indexed from it", file=sys.stderr)
        print(f"gen-prosody-index: {up['counts']['modules']} upstream-only modules "
              f"({up['counts']['removed_upstream']} removed upstream), {up['counts']['options']} options",
              file=sys.stderr)
        text = render(up)
        if args.output == "-":
            sys.stdout.write(text)
        else:
            write_atomic(Path(args.output), text)
        return 0
    text = render(index)
    c = index["counts"]
    print(f"gen-prosody-index: prosody {index['packages']['prosody']}, "
          f"prosody-modules {index['packages']['prosody-modules']}: "
          f"{c['modules']} modules ({c['core_modules']} core, {c['community_modules']} community), "
          f"{c['options']} options, {c['core_options']} core options, "
          f"{c['global_only']} global-only, {c['deprecated_options']} deprecated options, "
          f"{c['obsolete_modules']} obsolete modules", file=sys.stderr)

    if args.check:
        out = Path(args.output)
        current = out.read_text() if out.exists() else ""
        if current != text:
            import difflib
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                             "checked-in", "regenerated", lineterm="", n=1))
            print(f"gen-prosody-index: {out} is stale; run scripts/gen-prosody-index.py", file=sys.stderr)
            print("\n".join(diff[:60]), file=sys.stderr)
            return 1
        print(f"gen-prosody-index: {out} is up to date", file=sys.stderr)
        return 0
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(Path(args.output), text)
    return 0


def write_atomic(out: Path, text: str):
    """Write through a temporary file in the same directory and rename it
    over the target, so an interrupted run never leaves a half-written file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


if __name__ == "__main__":
    sys.exit(main())
