"""A loopback stand-in for the Telegram Bot API, for driving the real bot in tests.

It speaks HTTP like api.telegram.org (`/bot<token>/<method>` and `/file/bot<token>/<path>`),
so the bot under test is the unmodified PTB client pointed here with TELEGRAM_API_URL and
TELEGRAM_FILE_URL. Tests inject updates as users would send them (text, photos, files,
stickers, button presses, group messages) and read back what the bot sent.

It is built on tornado (already a PTB dependency for webhooks) and runs on the test's event
loop; everything it records is guarded by an asyncio.Condition so tests wait on conditions
with timeouts instead of sleeping.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

TOKEN = "123456789:TEST-token_abcdefghijklmnopqrstuvwxyz"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Mood Lifter", "username": "mood_lifter_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
_TEXT_PARAMS = {"text", "caption", "callback_query_id", "file_id", "url", "secret_token", "action",
                "description", "short_description", "language_code", "inline_query_id"}


@dataclass
class Sent:
    """One call the bot made (sendMessage, answerCallbackQuery, ...), with decoded parameters."""

    method: str
    params: dict[str, Any]
    message_id: int | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def link_preview(self) -> dict[str, Any] | None:
        return self.params.get("link_preview_options")

    @property
    def photo(self) -> bytes | None:
        """The bytes of a photo uploaded with sendPhoto (multipart), as Telegram received them."""
        value = self.params.get("photo")
        return value if isinstance(value, bytes) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.port = 0
        self.updates: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.calls: list[str] = []  # every method called, in order (getUpdates included)
        self.files: dict[str, bytes] = {}
        self.declared_sizes: dict[str, int] = {}
        self.commands: list[dict[str, Any]] | None = None  # the default menu (no scope, no language)
        # (what, scope, language_code) → value: "commands", "description" and "short_description"
        # as the bot set them; scope "default" or "chat:<id>", language None for the default.
        self.profile: dict[tuple[str, str, str | None], Any] = {}
        self.downloads: list[str] = []  # file ids the bot downloaded
        self.webhook: dict[str, Any] | None = None
        self.failures: dict[str, list[int]] = {}  # method → HTTP statuses to answer next
        self.odd_results: dict[str, list[Any]] = {}  # method → malformed "result"s to answer next
        self.allowed_updates: list[str] | None = None  # as the bot last asked (getUpdates/setWebhook)
        self.get_updates_calls = 0
        self.delivered: list[int] = []  # update ids handed out by getUpdates
        self.failure_descriptions: dict[str, str] = {}  # method → the error text Telegram gives
        self.file_behaviours: dict[str, FileBehaviour] = {}  # file id → how its download misbehaves
        self.answered_queries: set[str] = set()
        # (chat id, message id) → the bot's message as it is now (edits applied), as Telegram
        # hands it back inside a button press: text, entities and the current keyboard.
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.blocked: set[int] = set()  # chats whose user blocked the bot: sending there is a 403
        self.inline_answers: dict[str, Sent] = {}  # inline query id → the bot's answer
        self._cond = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._server: tornado.httpserver.HTTPServer | None = None
        self._closing = False

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_URL": self.api_url,
                "TELEGRAM_FILE_URL": self.file_url}

    async def start(self) -> FakeTelegram:
        app = tornado.web.Application([
            (r"/bot([^/]+)/(\w+)", _ApiHandler, {"fake": self}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"fake": self}),
        ], log_function=lambda handler: None)  # access lines would carry the token in the URL
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024 * 1024)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server.add_sockets(sockets)
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._cond:
            self._cond.notify_all()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    # --- what users do ---------------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        async with self._cond:
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def add_file(self, data: bytes, declared_size: int | None = None) -> str:
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = data
        if declared_size is not None:
            self.declared_sizes[file_id] = declared_size
        return file_id

    def add_misbehaving_file(self, *, stream_bytes: int | None = None, hang: bool = False,
                             status: int | None = None, chunk: int = 64 * 1024) -> str:
        """A file whose download misbehaves, and whose size neither the message nor getFile tells
        (as for some forwarded files): `stream_bytes` bytes sent in chunks with no Content-Length
        (None with neither hang nor status: a stream that never ends), `hang`: the server never
        answers, `status`: the download fails with this HTTP status."""
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = b""
        self.file_behaviours[file_id] = FileBehaviour(stream_bytes, hang, status, chunk)
        return file_id

    def user(self, user_id: int, chat_id: int | None = None, chat_type: str = "private",
             language_code: str | None = None) -> FakeUser:
        """A user; `language_code` is their Telegram app's language, as Telegram sends it ("pt-br")."""
        return FakeUser(self, user_id, chat_id if chat_id is not None else user_id, chat_type, language_code)

    # --- what the bot did ------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until predicate() is truthy (re-checked on every recorded call); return it."""
        async with self._cond:
            return await asyncio.wait_for(self._cond.wait_for(predicate), timeout)

    def sent_to(self, chat_id: int, method: str = "sendMessage") -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.chat_id == chat_id]

    def _wake(self) -> None:
        """Re-check waiters from a synchronous callback (a client hanging up)."""
        async def notify() -> None:
            async with self._cond:
                self._cond.notify_all()

        asyncio.get_running_loop().create_task(notify())

    async def _record(self, call: Sent) -> None:
        async with self._cond:
            self.sent.append(call)
            self._cond.notify_all()

    def _wanted(self, update: dict[str, Any]) -> bool:
        """Like Telegram: only the update types the bot asked for are delivered."""
        if not self.allowed_updates:
            return True
        return any(kind in update for kind in self.allowed_updates)

    async def _get_updates(self, offset: int, timeout: float, limit: int) -> list[dict[str, Any]]:
        def pending() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset and self._wanted(u)][:limit]

        async with self._cond:
            # Updates below the offset are confirmed by the bot: forget them, as Telegram does.
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not pending() and timeout > 0 and not self._closing:
                try:
                    await asyncio.wait_for(self._cond.wait_for(lambda: pending() or self._closing),
                                           timeout)
                except TimeoutError:
                    pass
            return pending()

    def _note_call(self, method: str, params: dict[str, Any]) -> None:
        if method in ("getUpdates", "setWebhook") and params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        if method == "getUpdates":
            self.get_updates_calls += 1

    def _set_profile(self, method: str, params: dict[str, Any]) -> str | None:
        """Store a command menu or description as Telegram would, refusing what Telegram refuses."""
        code = params.get("language_code")
        if code and not re.fullmatch(r"[a-z]{2}", str(code)):
            return "invalid language code specified"
        if method == "setMyCommands":
            commands = params.get("commands") or []
            if not all(re.fullmatch(r"[a-z0-9_]{1,32}", c["command"]) and 1 <= len(c["description"]) <= 256
                       for c in commands):
                return "BOT_COMMAND_DESCRIPTION_INVALID"
            self.profile[_profile_key("commands", params)] = commands
            if _profile_key("commands", params) == ("commands", "default", None):
                self.commands = commands
        elif method == "deleteMyCommands":
            self.profile.pop(_profile_key("commands", params), None)
        else:
            what = "description" if method == "setMyDescription" else "short_description"
            text = str(params.get(what, ""))
            if len(text) > PROFILE_LIMITS[what]:
                return f"{what} is too long"
            self.profile[_profile_key(what, params)] = text
        return None

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
        """Wait until predicate() is truthy for state the fake is not notified about (files, logs,
        call counters): re-checked every `every` seconds up to `timeout`; returns it."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(every)
        return result

    def message(self, chat_id: int, text: str, chat_type: str = "private", **extra: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": _chat(chat_id, chat_type), "from": BOT_USER, "text": text, **extra}

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append(method)
        self._note_call(method, params)
        odd = self.odd_results.get(method)
        if odd:
            return 200, {"ok": True, "result": odd.pop(0)}
        failures = self.failures.get(method)
        if failures:
            status = failures.pop(0)
            if status == 429:  # flood wait, as Telegram sends it
                return status, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
                                "description": "Too Many Requests: retry after 1"}
            return status, {"ok": False, "error_code": status,
                            "description": self.failure_descriptions.get(method, "Bad Gateway")}
        result: Any = True
        if method == "getMe":
            result = BOT_USER
        elif method == "getUpdates":
            result = await self._get_updates(int(params.get("offset") or 0),
                                              float(params.get("timeout") or 0),
                                              int(params.get("limit") or 100))
            self.delivered.extend(u["update_id"] for u in result)
        elif method in ("deleteWebhook", "setWebhook"):
            self.webhook = dict(params) if method == "setWebhook" else None
        elif method == "getWebhookInfo":
            result = {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                      "pending_update_count": 0}
        elif method in ("setMyCommands", "deleteMyCommands", "setMyDescription", "setMyShortDescription"):
            refused = self._set_profile(method, params)
            if refused:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {refused}"}
        elif method == "getFile":
            file_id = str(params["file_id"])
            if file_id not in self.files:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            result = {"file_id": file_id, "file_unique_id": f"u{file_id}",
                      "file_path": f"photos/{file_id}.jpg"}
            if file_id not in self.file_behaviours:
                result["file_size"] = self.declared_sizes.get(file_id, len(self.files[file_id]))
        elif method == "sendPhoto":
            chat_id = int(params.get("chat_id", 0))
            if not isinstance(params.get("photo"), bytes):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: there is no photo"}
            msg = self.message(chat_id, "", caption=str(params.get("caption", "")),
                               photo=[{"file_id": "sent-photo", "file_unique_id": "usp", "width": 800,
                                       "height": 360, "file_size": len(params["photo"])}])
            msg.pop("text")
            await self._record(Sent(method, params, msg["message_id"]))
            return 200, {"ok": True, "result": msg}
        elif method == "sendMessage" and int(params.get("chat_id", 0)) in self.blocked:
            return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        elif method == "answerInlineQuery":
            refused = _inline_refusal(params, self.inline_answers)
            if refused:
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {refused}"}
            call = Sent(method, params)
            self.inline_answers[str(params["inline_query_id"])] = call
            await self._record(call)
            return 200, {"ok": True, "result": True}
        elif method == "sendMessage":
            chat_id = int(params.get("chat_id", 0))
            msg = self.message(chat_id, "", _chat_type_of(chat_id))
            _set_text(msg, str(params.get("text", "")), params.get("parse_mode"))
            if params.get("reply_markup"):
                msg["reply_markup"] = params["reply_markup"]
            self.messages[(chat_id, msg["message_id"])] = msg
            await self._record(Sent(method, params, msg["message_id"]))
            return 200, {"ok": True, "result": msg}
        elif method in ("editMessageText", "editMessageReplyMarkup"):
            return await self._edit(method, params)
        elif method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            if query_id in self.answered_queries:  # Telegram accepts one answer per query
                return 400, {"ok": False, "error_code": 400, "description":
                             "Bad Request: query is too old and response timeout expired or query ID is invalid"}
            self.answered_queries.add(query_id)
        elif method in ("sendChatAction", "deleteMessage"):
            pass
        elif method in ("close", "logOut", "getMyCommands"):
            result = [] if method == "getMyCommands" else True
        else:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        if method != "getUpdates":
            await self._record(Sent(method, params))
        return 200, {"ok": True, "result": result}


    async def _edit(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Edit a message the bot sent, refusing what Telegram refuses (unknown, unchanged)."""
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if key not in self.messages:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}
        old = self.messages[key]
        new = dict(old)
        if method == "editMessageText":
            _set_text(new, str(params.get("text", "")), params.get("parse_mode"))
        new.pop("reply_markup", None)
        if params.get("reply_markup") and params["reply_markup"].get("inline_keyboard"):
            new["reply_markup"] = params["reply_markup"]
        if new == old:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified: "
                         "specified new message content and reply markup are exactly the same"}
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        await self._record(Sent(method, params, key[1]))
        return 200, {"ok": True, "result": new}


PROFILE_LIMITS = {"description": 512, "short_description": 120}


class _Entities(HTMLParser):
    """Telegram's HTML parse mode: the plain text and its entities (offsets in UTF-16 units)."""

    KINDS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "s": "strikethrough",
             "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-spoiler": "spoiler", "a": "text_link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []

    def _at(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        entity: dict[str, Any] = {"type": self.KINDS.get(tag, "bold"), "offset": self._at()}
        if tag == "a":
            entity["url"] = dict(attrs).get("href") or ""
        self._open.append(entity)

    def handle_endtag(self, tag: str) -> None:
        entity = self._open.pop()
        entity["length"] = self._at() - entity["offset"]
        if entity["length"]:
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def _set_text(msg: dict[str, Any], text: str, parse_mode: str | None) -> None:
    """A message's text as Telegram stores it: HTML parsed into plain text and entities."""
    msg.pop("entities", None)
    if parse_mode != "HTML":
        msg["text"] = text
        return
    parser = _Entities()
    parser.feed(text)
    parser.close()
    msg["text"] = parser.text
    if parser.entities:
        msg["entities"] = sorted(parser.entities, key=lambda e: e["offset"])


def _chat_type_of(chat_id: int) -> str:
    """Telegram's chat ids say the kind: users > 0, supergroups -100…, basic groups < 0."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _inline_refusal(params: dict[str, Any], answered: dict[str, Sent]) -> str | None:
    """What Telegram refuses in an answerInlineQuery: a second answer, over 50 results, result
    ids repeated or over 64 bytes, a result without content."""
    if str(params.get("inline_query_id")) in answered:
        return "query is too old and response timeout expired or query ID is invalid"
    results = params.get("results") or []
    ids = [str(r.get("id", "")) for r in results]
    if len(results) > 50:
        return "RESULTS_TOO_MUCH"
    if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
        return "RESULT_ID_INVALID"
    if any(r.get("type") == "article" and not r.get("input_message_content") for r in results):
        return "MESSAGE_EMPTY"
    return None


def _profile_key(what: str, params: dict[str, Any]) -> tuple[str, str, str | None]:
    scope = params.get("scope") or {"type": "default"}
    where = f"chat:{scope['chat_id']}" if scope.get("type") == "chat" else str(scope.get("type"))
    return what, where, params.get("language_code") or None


def _chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    return {"id": chat_id, "type": chat_type, "title": "Test group"}


def _decode(name: str, value: str) -> Any:
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class _ApiHandler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def _handle(self, token: str, method: str) -> None:
        if token != self.fake.token:
            self.set_status(401)
            self.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params: dict[str, Any] = {}
        if self.request.headers.get("Content-Type", "").startswith("application/json") and self.request.body:
            params = json.loads(self.request.body)
        else:
            for name, values in self.request.arguments.items():
                params[name] = _decode(name, values[-1].decode())
            for name, files in self.request.files.items():  # multipart uploads (sendPhoto)
                params[name] = files[-1]["body"]
        status, body = await self.fake.call(method, params)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def post(self, token: str, method: str) -> None:
        await self._handle(token, method)

    async def get(self, token: str, method: str) -> None:
        await self._handle(token, method)

    def log_exception(self, *args: Any) -> None:  # a bot disconnecting mid-poll is normal
        pass


@dataclass
class FileBehaviour:
    stream_bytes: int | None
    hang: bool
    status: int | None
    chunk: int


class _FileHandler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def get(self, token: str, path: str) -> None:
        file_id = path.rsplit("/", 1)[-1].removesuffix(".jpg")
        if token != self.fake.token or file_id not in self.fake.files:
            self.set_status(404)
            self.finish({"ok": False, "error_code": 404, "description": "Not Found"})
            return
        self.fake.calls.append("download")
        self.fake.downloads.append(file_id)
        async with self.fake._cond:
            self.fake._cond.notify_all()
        self.set_header("Content-Type", "application/octet-stream")
        behaviour = self.fake.file_behaviours.get(file_id)
        if behaviour is None:
            self.finish(self.fake.files[file_id])
        else:
            await self._misbehave(behaviour)

    async def _misbehave(self, behaviour: FileBehaviour) -> None:
        if behaviour.status is not None:
            self.set_status(behaviour.status)
            self.finish("Internal Server Error")
            return
        if behaviour.hang:
            async with self.fake._cond:
                await self.fake._cond.wait_for(lambda: self.fake._closing or self.request.connection.stream.closed())
            return
        block = b"\xff" * behaviour.chunk
        sent = 0
        try:
            # No Content-Length: tornado sends chunked transfer encoding, so only counting tells the size.
            while (behaviour.stream_bytes is None or sent < behaviour.stream_bytes) and not self.fake._closing:
                part = block if behaviour.stream_bytes is None else block[:behaviour.stream_bytes - sent]
                self.write(part)
                await self.flush()
                sent += len(part)
            self.finish()
        except tornado.iostream.StreamClosedError:
            pass  # the bot stopped reading: what a bounded download does

    def on_connection_close(self) -> None:
        self.fake._wake()

    def log_exception(self, *args: Any) -> None:
        pass


class FakeUser:
    """One Telegram user (in a private chat, or in a group) sending things to the bot."""

    def __init__(self, fake: FakeTelegram, user_id: int, chat_id: int, chat_type: str,
                 language_code: str | None = None) -> None:
        self.fake = fake
        self.id = user_id
        self.language_code = language_code
        self.chat_id = chat_id
        self.chat_type = chat_type
        self._seen = 0  # how many of the bot's messages to this chat were already read

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message": {"message_id": next(self.fake._message_ids), "date": int(time.time()),
                            "chat": _chat(self.chat_id, self.chat_type),
                            "from": self._from(), **fields}}

    def _from(self) -> dict[str, Any]:
        sender: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": f"User{self.id}"}
        if self.language_code:
            sender["language_code"] = self.language_code
        return sender

    async def send_text(self, text: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.fake.push(self._message(**fields))

    async def send_photo(self, data: bytes, width: int = 1280, height: int = 960,
                         caption: str | None = None, declared_size: int | None = None,
                         original: bytes | None = None, reply_to: Sent | None = None) -> dict[str, Any]:
        """A compressed photo; like Telegram, offered in several sizes (a thumbnail, the photo and,
        with `original`, a 2× larger original)."""
        thumb = self.fake.add_file(data)
        full = self.fake.add_file(data, declared_size)
        sizes = [
            {"file_id": thumb, "file_unique_id": f"u{thumb}", "width": 90, "height": 90, "file_size": len(data)},
            {"file_id": full, "file_unique_id": f"u{full}", "width": width, "height": height,
             "file_size": declared_size if declared_size is not None else len(data)},
        ]
        if original is not None:
            big = self.fake.add_file(original)
            sizes.append({"file_id": big, "file_unique_id": f"u{big}", "width": 2 * width,
                          "height": 2 * height, "file_size": len(original)})
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        if reply_to is not None:  # answering one of the bot's messages
            extra["reply_to_message"] = {"message_id": reply_to.message_id, "date": int(time.time()),
                                         "chat": _chat(self.chat_id, self.chat_type), "from": BOT_USER,
                                         "text": reply_to.text}
        return await self.fake.push(self._message(photo=sizes, **extra))

    async def send_document(self, data: bytes, file_name: str, mime_type: str | None,
                            declared_size: int | None = None, size_in_message: bool = True,
                            ) -> dict[str, Any]:
        """`declared_size` is the size Telegram reports (message and getFile); with
        size_in_message=False only getFile reveals it, as for some forwarded files."""
        file_id = self.fake.add_file(data, declared_size)
        doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name}
        if size_in_message:
            doc["file_size"] = declared_size if declared_size is not None else len(data)
        if mime_type:
            doc["mime_type"] = mime_type
        return await self.fake.push(self._message(document=doc))

    async def send_file_id(self, file_id: str, file_name: str = "photo.jpg",
                           mime_type: str = "image/jpeg") -> dict[str, Any]:
        """An image file already on the server (see add_misbehaving_file), sent without a size."""
        return await self.fake.push(self._message(document={
            "file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
            "mime_type": mime_type}))

    async def send_sticker(self) -> dict[str, Any]:
        return await self.fake.push(self._message(sticker={
            "file_id": "sticker-1", "file_unique_id": "us1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False, "emoji": "😀"}))

    async def send_video(self) -> dict[str, Any]:
        return await self.fake.push(self._message(video={
            "file_id": "video-1", "file_unique_id": "uv1", "width": 640, "height": 480, "duration": 3}))

    async def send_animation(self) -> dict[str, Any]:
        """A GIF: like Telegram, both `animation` and `document` are set."""
        gif = {"file_id": "gif-1", "file_unique_id": "ug1", "width": 320, "height": 240, "duration": 2,
               "file_name": "fun.gif.mp4", "mime_type": "video/mp4"}
        return await self.fake.push(self._message(animation=gif, document=dict(gif)))

    async def send_voice(self) -> dict[str, Any]:
        return await self.fake.push(self._message(voice={
            "file_id": "voice-1", "file_unique_id": "uvo1", "duration": 2}))

    async def press(self, message: Sent | None = None, data: str | None = None) -> dict[str, Any]:
        """Press the (first) inline button of a message the bot sent, or a button with `data`
        under some older message (message=None), as a user scrolling back up would. Like
        Telegram, the press carries the message as it is now (edits applied, its buttons), so
        `data` a message does not (any longer) show is a forged or outdated press."""
        if data is None:
            assert message is not None
            data = message.buttons[0]["callback_data"]
        current = self.fake.messages.get((self.chat_id, message.message_id or 0)) if message else None
        if current is None:  # an older message, not sent in this test: it had this one button
            current = {"message_id": message.message_id if message else next(self.fake._message_ids),
                       "date": int(time.time()), "chat": _chat(self.chat_id, self.chat_type), "from": BOT_USER,
                       "text": message.text if message else "",
                       "reply_markup": {"inline_keyboard": [[{"text": "?", "callback_data": data}]]}}
            self.fake.messages[(self.chat_id, current["message_id"])] = current  # editable, as on Telegram
        return await self.fake.push({"callback_query": {
            "id": f"cq-{next(self.fake._query_ids)}",
            "from": self._from(),
            "chat_instance": f"ci-{self.chat_id}",
            "data": data,
            "message": current,
        }})

    async def inline(self, query: str) -> Sent:
        """Type "@bot <query>" in some chat; the bot's answerInlineQuery for it."""
        query_id = f"iq-{next(self.fake._query_ids)}"
        await self.fake.push({"inline_query": {"id": query_id, "from": self._from(), "query": query,
                                               "offset": "", "chat_type": "sender"}})
        return await self.fake.wait_for(lambda: self.fake.inline_answers.get(query_id))

    async def choose(self, result_id: str, query: str = "") -> dict[str, Any]:
        """Post an inline result (Telegram reports it when inline feedback is on)."""
        return await self.fake.push({"chosen_inline_result": {"result_id": result_id, "from": self._from(),
                                                              "query": query}})

    async def reply(self, timeout: float = 15.0) -> Sent:
        """The next message the bot sends to this chat (after the ones already read)."""
        def ready() -> bool:
            return len(self.fake.sent_to(self.chat_id)) > self._seen

        await self.fake.wait_for(ready, timeout)
        msg = self.fake.sent_to(self.chat_id)[self._seen]
        self._seen += 1
        return msg

    def unread(self) -> list[Sent]:
        return self.fake.sent_to(self.chat_id)[self._seen:]
