"""What the HTTP API's server (``http_server``) refuses to hold for a client, and for how long (issue 18).

Each refusal is answered in order, after the requests before it on the connection, then the connection closes:

- Request line and header values over 10,240 bytes, the HTTP API quota "Total combined size of request line and
  header values" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
  ``431 {"message":"Request Header Fields Too Large"}``. AWS publishes the limit, not the answer. Clients quote the
  text "HTTP header is larger than 10240 bytes." (ntsblog.homedev.com.au, 2021), with no status; the one published
  capture of the 10 MB payload limit (koki-develop/lgtm-generator#10, a REST API) shows Netty's message in the same
  form as a text body ("HTTP content length exceeded 10485760 bytes."), so AWS's body is probably that text. The
  status and the JSON body here are the emulator's choice. Bytes are counted as they arrive: the parser is fed at
  most ``HEAD_BUFFER`` bytes of one head (names and separators included), so an endless header is cut off there, not
  buffered. (A head that starts in the same slice as the end of the request before it can pass that by at most the
  slice, itself at most ``HEAD_BUFFER`` or one read.) Chunk framing and trailers past ``HEAD_BUFFER`` (plus 64 bytes
  a chunk) are refused the same way; trailers are dropped, never merged into the request's headers.
- A request not received in time: its line and headers within ``HEAD_TIMEOUT_S`` of its first byte (a client
  trickling bytes does not push the deadline back), its body within ``BODY_TIMEOUT_S`` of its headers:
  ``408 {"message":"Request Timeout"}``. What API Gateway does with a client that stalls mid-request is not published
  either; 408 is RFC 9110's answer. A connection that sends nothing closes without an answer after ``KEEP_ALIVE_S``.
- Pipelining: at most ``MAX_QUEUED`` parsed requests wait for their turn (see :func:`next_slice`); past that, and
  while the transport's write buffer is above its high-water mark, the server stops reading.

:class:`ReadGuard` is the reading side of a connection that keeps these limits; ``http_server.HttpApiProtocol``
adds the parser's callbacks, the queue and the answers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httptools

MAX_HEAD = 10_240  # request line + header values (http-api-quotas)
HEAD_BUFFER = MAX_HEAD + 8_192  # raw bytes of one head (names, separators) the parser may hold; also trailers
HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0  # also the longest an HTTP API waits for an integration
KEEP_ALIVE_S = 30.0
LINGER_S = 1.0  # after a 413/431 the client may still be sending: it gets this long to read the answer
MAX_QUEUED = 8  # parsed requests waiting on one connection

ERRORS = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large"}
SEP = b"\r\n\r\n"  # every head ends with it (httptools refuses bare LF)


@dataclass(frozen=True, slots=True)
class Limits:
    """Deadlines of one server (tests shorten them)."""

    head_timeout: float = HEAD_TIMEOUT_S
    body_timeout: float = BODY_TIMEOUT_S
    keep_alive: float = KEEP_ALIVE_S
    linger: float = LINGER_S


def error_body(status: int) -> bytes:
    return b'{"message":"%s"}' % ERRORS[status].encode()


def next_slice(data: bytes, queued: int, head_room: int | None) -> int:
    """How many bytes of ``data`` to feed the parser now: 0 to keep them until the queue drains, -1 for a head over
    ``HEAD_BUFFER``. ``head_room``: what the head being read may still take, None between a head and its end.

    A slice holding ``n`` head ends (``CRLFCRLF``) completes at most ``n + 2`` requests: the one whose body it ends,
    one per head end, and one whose ``CRLFCRLF`` began in the slice before. So a slice whose requests could overflow
    the queue ends after its first head end, and the queue never holds more than ``MAX_QUEUED``.
    """
    cut = len(data)
    if head_room is not None:
        if head_room <= 0:
            return -1
        cut = min(cut, head_room)
    room = MAX_QUEUED - queued
    seps = data.count(SEP, 0, cut)
    if seps + 2 > room:
        if room < 3:
            return 0
        if seps:
            cut = data.index(SEP, 0, cut) + len(SEP)
    return cut


class ReadGuard(asyncio.Protocol):
    """What a connection reads, when it stops reading, and its deadlines (the parser's callbacks are the subclass's).

    The subclass keeps ``in_head``/``in_message``/``size``/``chunks`` current from httptools' callbacks, and says
    how many requests wait (:meth:`waiting`), whether a worker is answering (:meth:`answering`) and how to refuse
    (:meth:`reject`, which calls :meth:`stop_reading`).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.in_head = True  # between requests, or inside a request line or headers
        self.in_message = False  # a request has begun and is not complete
        self.size = 0  # body bytes of the current request
        self.chunks = 0  # chunks of the current request's body
        self.head_raw = 0  # bytes fed to the parser in this head
        self.body_raw = 0  # bytes fed to the parser since this head ended (chunk framing and trailers included)
        self.backlog = b""  # read but not parsed: the queue was full
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.closing = False  # nothing more is parsed

    def waiting(self) -> int:
        raise NotImplementedError

    def answering(self) -> bool:
        raise NotImplementedError

    def reject(self, status: int, *, upgraded: bool = False) -> None:
        raise NotImplementedError

    def data_received(self, data: bytes) -> None:
        if self.closing:  # an answer that ends the connection is on its way; the rest is not read
            return
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.backlog:  # reading is paused; a read already under way lands here
            self.backlog += data
        else:
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Parse ``data``, slice by slice (:func:`next_slice`), then arm the deadline of a request begun."""
        while data and not self.closing:
            cut = next_slice(data, self.waiting(), HEAD_BUFFER - self.head_raw if self.in_head else None)
            if cut < 0:
                self.reject(431)
                return
            if cut == 0:  # the queue is full: wait for the worker
                self.backlog = data
                self.update_reading()
                return
            if cut == len(data):
                part, data = data, b""
            else:
                part, data = data[:cut], data[cut:]
            if self.in_head:
                self.head_raw += cut
            else:
                self.body_raw += cut
            try:
                self.parser.feed_data(part)
            except httptools.HttpParserUpgrade:  # httptools completed the request before it paused
                self.reject(400, upgraded=True)
                return
            except httptools.HttpParserError:
                self.reject(400)
                return
            if self.chunks and not self.in_head and self.body_raw - self.size > HEAD_BUFFER + 64 * self.chunks:
                self.reject(431)  # chunk framing and trailers far past any honest client's
                return
        if self.closing:
            return
        if self.in_message:
            if self.deadline is None:
                timeout = self.limits.head_timeout if self.in_head else self.limits.body_timeout
                self.deadline = asyncio.get_running_loop().call_later(timeout, self._expire)
        elif not self.answering():  # nothing begun (blank lines): still an idle connection
            self.arm_idle()

    def refill(self) -> None:
        """After the worker took a request: parse what waited for room in the queue."""
        if self.backlog and self.waiting() + 3 <= MAX_QUEUED:
            backlog, self.backlog = self.backlog, b""
            self.feed(backlog)
            self.update_reading()

    def _expire(self) -> None:
        self.deadline = None
        if self.in_message and not self.closing:
            self.reject(408)

    def cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def stop_reading(self) -> None:
        self.closing = True
        self.backlog = b""
        self.cancel_deadline()
        if self.transport is not None:
            self.transport.pause_reading()

    def update_reading(self) -> None:
        if self.transport is None or self.closing:
            return
        if self.backlog or self.write_paused:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.update_reading()

    async def writable(self) -> None:
        """Return once the client reads again (or has gone)."""
        if self.write_paused and self.transport is not None:
            self.drained = asyncio.get_running_loop().create_future()
            await self.drained

    def arm_idle(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.transport is not None and not self.in_message and not self.closing:
            self.idle = asyncio.get_running_loop().call_later(self.limits.keep_alive, self._close)

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def linger(self, transport: asyncio.Transport) -> None:
        """Close once the client had time to read the answer: it may still be sending (413, 431)."""
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(self.limits.linger, transport.close)

    def lost(self) -> None:
        """The connection is gone: cancel every timer, wake a worker waiting for the client to read."""
        self.transport = None
        self.backlog = b""
        for timer in (self.idle, self.deadline):
            if timer is not None:
                timer.cancel()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
