"""PageClient: a signed-in Bokeh client of one served page, no browser (the load test's other driver).

It does what a browser does on the wire and nothing more: signs in through the server's form,
asks for the page (the server builds its session and hands out the session's token), opens
the page's websocket with the sign-in cookie, pulls the document, says the document is ready
(Panel then builds the page, `pn.state.onload`) and keeps its copy of the document in step
with the server's patches. Actions are the events a browser would send (a button click, a box
selection's geometry). Nothing is rendered, so the plot's size is the
server's default and no CPU goes to drawing: what it measures is the server.
"""
from __future__ import annotations

import asyncio
import http.cookies
import importlib
import re
import time
import urllib.parse
from typing import Any, Callable

__all__ = ["PageClient", "has_property"]

_TOKEN = re.compile(r'"token":\s*"([^"]+)"')
MAX_MESSAGE_BYTES = 64 * 2**20  # the largest server message taken (a raw cloud image is a few MB)


class PageClient:
    """One page of `url`, signed in as `user`; use `await PageClient.open(...)`, then `close()`."""

    def __init__(self, url: str, cookie: str):
        from bokeh.document import Document
        from bokeh.protocol import Protocol

        self.url, self.cookie = url, cookie
        self.document = Document()
        self._protocol = Protocol()
        self._socket = None
        self._changed = asyncio.Event()  # set on every message from the server
        self._acked = self._pulled = False
        self._reader: asyncio.Task | None = None
        self._by_class: dict[str, Any] = {}  # css class -> the text model found for it (`text`)
        self.closed_reason: str | None = None

    @classmethod
    async def open(cls, url: str, user: str, password: str, path: str = "/") -> "PageClient":
        """Sign in, load `path` and connect; the document is pulled and the page told it is ready."""
        importlib.import_module("hill_viz.ui.site")  # the data models the page's components define
        client = cls(url, await _sign_in(url, user, password))
        token = await client._page_token(path)
        await client._connect(token)
        return client

    async def _page_token(self, path: str) -> str:
        from tornado.httpclient import AsyncHTTPClient

        response = await AsyncHTTPClient().fetch(urllib.parse.urljoin(self.url, path), headers={"Cookie": self.cookie},
                                                 request_timeout=600)
        found = _TOKEN.search(response.body.decode())
        if found is None:
            raise RuntimeError(f"no session token in the page at {path} (not signed in?)")
        return found.group(1)

    async def _connect(self, token: str) -> None:
        from bokeh.client.websocket import WebSocketClientConnectionWrapper
        from bokeh.events import DocumentReady
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = urllib.parse.urljoin(self.url.replace("http", "ws", 1), "ws")
        socket = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": self.cookie}),
                                         subprotocols=["bokeh", token], max_message_size=MAX_MESSAGE_BYTES,
                                         compression_options={})  # permessage-deflate, as browsers ask
        self._socket = WebSocketClientConnectionWrapper(socket)
        self._reader = asyncio.ensure_future(self._read())
        await self.wait_for(lambda: self._acked, 600, "the server's session")
        await self._send(self._protocol.create("PULL-DOC-REQ"))
        await self.wait_for(lambda: self._pulled, 600, "the page's document")
        await self.event(DocumentReady())

    async def _read(self) -> None:
        from bokeh.protocol.receiver import Receiver

        receiver = Receiver(self._protocol)
        try:
            while (fragment := await self._socket.read_message()) is not None:
                message = await receiver.consume(fragment)
                if message is None:
                    continue
                kind = message.header["msgtype"]
                if kind == "ACK":
                    self._acked = True
                elif kind == "PULL-DOC-REPLY":
                    _define_models(message.content)
                    message.push_to_document(self.document)
                    self._pulled = True
                elif kind == "PATCH-DOC":
                    _define_models(message.content)
                    message.apply_to_document(self.document, self)
                elif kind == "ERROR":
                    raise RuntimeError(f"the server answered: {message.content.get('text', '')[:200]}")
                self._changed.set()
            self.closed_reason = "the server closed the page's websocket"
        except Exception as exc:  # noqa: BLE001 - ends the page; `wait_for` reports it
            self.closed_reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        finally:
            self._changed.set()

    async def _send(self, message) -> None:
        await message.send(self._socket)

    async def event(self, event) -> None:
        """Send a Bokeh UI event (`bokeh.events.*`), as the browser does."""
        from bokeh.document.events import MessageSentEvent

        await self._send(self._protocol.create("PATCH-DOC", [MessageSentEvent(self.document, "bokeh_event",
                                                                               _whole_event(event))]))

    async def click(self, label: str) -> None:
        """Click the button labelled `label`."""
        from bokeh.events import ButtonClick

        await self.event(ButtonClick(self.one(lambda m: has_property(m, "label") and m.label == label,
                                              f"a button {label!r}")))

    def models(self, test: Callable[[Any], bool]) -> list:
        return [m for m in list(self.document.models) if test(m)]

    def one(self, test: Callable[[Any], bool], what: str):
        found = self.models(test)
        if not found:
            raise LookupError(f"the page has no {what}")
        return found[0]

    def text(self, css_class: str) -> str | None:
        """The text of the first model with `css_class` (a status line), or None."""
        model = self._by_class.get(css_class)
        if model is None or self.document.get_model_by_id(model.id) is not model:  # looked for once per model
            found = self.models(lambda m: has_property(m, "text") and has_property(m, "css_classes") and
                                css_class in m.css_classes and isinstance(m.text, str))
            if not found:
                return None
            model = self._by_class[css_class] = found[0]
        return model.text

    async def wait_for(self, condition: Callable[[], bool], timeout: float | None, what: str) -> None:
        """Until `condition()` holds on the page's document (checked after each server patch)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not condition():
            if self.closed_reason is not None:
                raise RuntimeError(f"{self.closed_reason} while waiting for {what}")
            self._changed.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), None if left is None else min(left, 1.0))
            except asyncio.TimeoutError:
                pass

    def error_notifications(self) -> int:
        """Error notifications the page was sent (Panel's notification area; none is ever dismissed here)."""
        return sum(1 for m in self.models(lambda m: has_property(m, "notifications"))
                   for note in m.notifications if getattr(note, "notification_type", None) == "error")

    async def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            self._reader.cancel()


def has_property(model, name: str) -> bool:
    """Whether Bokeh `model` has property `name`. (Not `hasattr(model, name)`: Bokeh answers a
    missing one with a fuzzy-matched suggestion, which made the client's lookups most of its CPU.)"""
    return hasattr(type(model), name)


def _whole_event(event):
    """`event` serialized with all its fields (Bokeh's Python events send only their model)."""
    from bokeh.core.serialization import Serializable

    class WholeEvent(Serializable):
        def to_serializable(self, serializer):
            values = {**event.event_values(), **{k: v for k, v in vars(event).items() if not k.startswith("_")}}
            return {"type": "event", "name": event.event_name, "values": serializer.encode(values)}
    return WholeEvent()


def _define_models(content) -> None:
    """Import the Panel module of every model type that `content` (a message's) names and this
    process does not know yet, so the message deserializes here. Only those: importing all of
    `panel.models` would make every page this process serves load some models' scripts and
    fonts from CDNs."""
    from bokeh.model import Model

    names, stack = set(), [content]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and isinstance(item.get("name"), str):
                names.add(item["name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    for name in names - set(Model.model_class_reverse_map):
        if name.startswith("panel.models."):
            importlib.import_module(name.rpartition(".")[0])


async def _sign_in(url: str, user: str, password: str) -> str:
    """The Cookie header of a session signed in through the server's sign-in form."""
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    body = urllib.parse.urlencode({"username": user, "password": password})
    try:
        response = await AsyncHTTPClient().fetch(url + "login", method="POST", body=body, follow_redirects=False,
                                                 request_timeout=600)
    except HTTPClientError as exc:  # the sign-in answers with a redirect
        if exc.code != 302 or exc.response is None:
            raise RuntimeError(f"signing in as {user!r} failed: HTTP {exc.code}") from None
        response = exc.response
    jar = http.cookies.SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    if "user" not in jar:
        raise RuntimeError(f"signing in as {user!r} failed: no session cookie")
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())
