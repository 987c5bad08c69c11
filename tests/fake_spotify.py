"""A loopback stand-in for the few Spotify Web API endpoints we use, for driving real spotipy.

    with FakeSpotify() as fake:
        settings = fake.settings()          # SpotifySettings pointing at the fake
        fake.add_playlist("pl1", tracks)    # tracks: dicts with id, name, artist, popularity, features
        fake.audio_features_status = 403    # switch behaviours between calls

Endpoints: POST /api/token (client credentials, Basic auth checked), GET /v1/playlists/<id>/items
(paged, `next` links back here), GET /v1/audio-features?ids=..., GET /v1/tracks/<id>.
Switches: `audio_features_status` (e.g. 403), `rate_limit(path_prefix, times, retry_after)` answers
429 with Retry-After that many times, `delay[path_prefix] = seconds` answers late (the handler waits
on an Event that `close()` sets, so shutdown is immediate), `token_status` (e.g. 400).
`hits[path_prefix]` counts requests, `auth_headers` records the Authorization headers seen.
"""
from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from recommender.music.spotify import SpotifySettings

CLIENT_ID, CLIENT_SECRET, TOKEN = "test-client", "test-secret", "fake-access-token"
PAGE = 2  # small pages so that paging is exercised


class FakeSpotify:
    def __init__(self) -> None:
        self.playlists: dict[str, list[dict]] = {}
        self.tracks: dict[str, dict] = {}
        self.audio_features_status = 200
        self.token_status = 200
        self.delay: dict[str, float] = {}
        self.hits: Counter[str] = Counter()
        self.auth_headers: list[str] = []
        self._limits: dict[str, list] = {}
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle
    def __enter__(self) -> FakeSpotify:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> SpotifySettings:
        return SpotifySettings(client_id, client_secret, api_url=f"{self.base}/v1/",
                               token_url=f"{self.base}/api/token")

    # --- data and switches
    def add_track(self, tid: str, name: str, artist: str, popularity: int = 50,
                  features: dict | None = None, album: str = "Album", preview: str | None = None) -> dict:
        track = {"id": tid, "type": "track", "name": name, "popularity": popularity,
                 "artists": [{"name": artist}],
                 "album": {"name": album, "release_date": "2019-05-01",
                           "images": [{"url": f"https://i.scdn.co/image/{tid}", "width": 640}]},
                 "preview_url": preview, "_features": features}
        self.tracks[tid] = track
        return track

    def add_playlist(self, pid: str, track_ids: list[str]) -> None:
        self.playlists[pid] = [self.tracks[t] for t in track_ids]

    def rate_limit(self, path_prefix: str, times: int, retry_after: int | str = 1) -> None:
        self._limits[path_prefix] = [times, str(retry_after)]

    # --- HTTP
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _gate(self, path: str) -> bool:
                """Count, delay, rate-limit. True when the request was already answered."""
                key = next((p for p in ("/api/token", "/v1/playlists", "/v1/audio-features",
                                        "/v1/tracks") if path.startswith(p)), path)
                with fake._lock:
                    fake.hits[key] += 1
                    limit = fake._limits.get(key)
                    limited = bool(limit and limit[0] > 0)
                    if limited:
                        limit[0] -= 1
                delay = fake.delay.get(key)
                if delay:
                    fake._released.wait(delay)
                if limited:
                    self._send(429, {"error": {"status": 429, "message": "API rate limit exceeded"}},
                               {"Retry-After": limit[1]})
                    return True
                return False

            def do_POST(self) -> None:  # noqa: N802
                path = urlparse(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = parse_qs(self.rfile.read(length).decode())
                if self._gate(path):
                    return
                if path != "/api/token":
                    return self._send(404, {"error": {"status": 404, "message": "not found"}})
                expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if (fake.token_status != 200 or self.headers.get("Authorization") != expected
                        or body.get("grant_type") != ["client_credentials"]):
                    return self._send(400, {"error": "invalid_client",
                                            "error_description": "Invalid client"})
                self._send(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                path, query = url.path.rstrip("/"), parse_qs(url.query)
                if self._gate(path):
                    return
                auth = self.headers.get("Authorization", "")
                fake.auth_headers.append(auth)
                if auth != f"Bearer {TOKEN}":
                    return self._send(401, {"error": {"status": 401, "message": "Invalid access token"}})
                parts = path.split("/")
                if path.startswith("/v1/playlists/") and len(parts) == 5 and parts[4] in ("items", "tracks"):
                    items = fake.playlists.get(parts[3])
                    if items is None:
                        return self._send(404, {"error": {"status": 404, "message": "Not found."}})
                    offset = int(query.get("offset", ["0"])[0])
                    limit = min(int(query.get("limit", ["100"])[0]), PAGE)
                    chunk = items[offset:offset + limit]
                    nxt = (f"{fake.base}{path}?offset={offset + limit}&limit={limit}"
                           if offset + limit < len(items) else None)
                    return self._send(200, {
                        "items": [{"track": {k: v for k, v in t.items() if k != "_features"}}
                                  for t in chunk],
                        "next": nxt, "offset": offset, "limit": limit, "total": len(items)})
                if path == "/v1/audio-features":
                    if fake.audio_features_status != 200:
                        return self._send(fake.audio_features_status, {
                            "error": {"status": fake.audio_features_status, "message": "Forbidden"}})
                    ids = query.get("ids", [""])[0].split(",")
                    feats = []
                    for tid in ids:
                        t = fake.tracks.get(tid)
                        feats.append(None if not t or not t["_features"] else {"id": tid, **t["_features"]})
                    return self._send(200, {"audio_features": feats})
                if path.startswith("/v1/tracks/") and len(parts) == 4:
                    t = fake.tracks.get(parts[3])
                    if t is None:
                        return self._send(404, {"error": {"status": 404, "message": "Not found."}})
                    return self._send(200, {k: v for k, v in t.items() if k != "_features"})
                self._send(404, {"error": {"status": 404, "message": "Service not found"}})

        return Handler
