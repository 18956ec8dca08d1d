"""The one renderer for chat text: a small Markdown subset to safe HTML.

Messages are stored exactly as typed (operators paste XML and PLC snippets, so `<tag>` is
text, not markup). This turns that source into HTML for display: markdown-it with raw HTML
off, so angle brackets come out escaped, then nh3 as a final allowlist in case a rule ever
emits more than we meant to allow.
"""

from functools import lru_cache

import nh3
from django.utils.html import escape
from markdown_it import MarkdownIt

# Code spans, code blocks (fenced or indented), bold, italic, links and lists; headings, tables,
# images, quotes and rules stay plain text (a "#" or ">" in a pasted log line is not formatting).
_DISABLED = ["heading", "lheading", "table", "image", "blockquote", "hr", "html_block", "html_inline"]
_TAGS = {"p", "br", "strong", "em", "code", "pre", "a", "ul", "ol", "li"}
_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}


def _allowed_link(url: str) -> bool:
    scheme, colon, _rest = url.partition(":")
    return bool(colon) and scheme.strip().lower() in _SCHEMES


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False}).disable(_DISABLED)
    md.validateLink = _allowed_link  # relative and javascript: links stay text
    return md


# A message is rendered when it is sent, then again for every socket that replays it: a
# room of 50 resuming after an outage asked for the same 500 messages 50 times, and the
# renderer was most of the process's time (bench/PROFILE.md, fourth session). The output
# depends on the source alone, so recent sources are remembered; long ones are not, to
# bound the memory (at most RENDER_CACHE_SIZE x RENDER_CACHE_MAX_SOURCE of source).
RENDER_CACHE_SIZE = 2048
RENDER_CACHE_MAX_SOURCE = 2048


def render(source: str) -> str:
    """Safe HTML for one chat message's source text."""
    if not source:
        return ""
    if len(source) <= RENDER_CACHE_MAX_SOURCE:
        return _render_remembered(source)
    return _render(source)


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render_remembered(source: str) -> str:
    return _render(source)


def _render(source: str) -> str:
    html = _parser().render(source)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener nofollow",
    ).strip()


def render_plain(source: str) -> str:
    """Escaped text for lines that are never formatted (system lines, file names)."""
    return str(escape(source or ""))
