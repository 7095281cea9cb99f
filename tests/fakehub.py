"""A small fake Hugging Face Hub on 127.0.0.1 for push tests: huggingface_hub talks to it over real HTTP.

Point ``HF_ENDPOINT`` (a subprocess) or ``huggingface_hub.constants.ENDPOINT`` (this process) at ``hub.url``. It
answers the endpoints ``HfApi.create_repo`` and ``HfApi.upload_folder`` call: ``/api/repos/create``,
``/api/validate-yaml`` (the checks the real Hub makes that matter here: a front matter that is YAML, a
``base_model`` that is a repo id, a known licence, known size categories), ``/api/<type>s/<repo>/preupload/<rev>``
(``*.safetensors`` / ``*.bin`` as LFS files, the rest inline), ``/api/<type>s/<repo>/commit/<rev>`` (NDJSON),
and git-LFS's batch API with "basic" PUT uploads, the sha256 checked. With hf_xet installed and the Xet store
enabled, huggingface_hub uploads LFS files through Xet's own (Rust) client, which this fake does not speak:
tests that upload LFS files set ``HF_HUB_DISABLE_XET=1``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

TOKEN = "hf_fake_write_token"
USER = "me"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LICENSES = {"apache-2.0", "mit", "bsd-3-clause", "bsd-2-clause", "gpl-3.0", "lgpl-2.1", "cc-by-4.0", "other",
             "cc0-1.0", "mpl-2.0", "artistic-2.0", "unlicense", "llama3"}
_SIZES = {"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B", "1B<n<10B",
          "10B<n<100B", "100B<n<1T", "n>1T"}


@dataclass
class Repo:
    repo_type: str
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)


@dataclass
class FakeHub:
    url: str = ""
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)


def validate_front_matter(content: str, repo_type: str) -> list[str]:
    """The errors the fake Hub finds in a README's front matter (the real Hub's checks that matter here)."""
    if not content.startswith("---"):
        return []
    try:
        meta = yaml.safe_load(content.split("---", 2)[1]) or {}
    except yaml.YAMLError as e:
        return [f"front matter is not valid YAML: {e}"]
    errors = []
    bases = meta.get("base_model")
    for base in [bases] if isinstance(bases, str) else bases or []:
        if not isinstance(base, str) or not _REPO_ID.match(base):
            errors.append(f'"base_model" with value "{base}" is not valid. Use a model id from https://hf.co/models.')
    lic = meta.get("license")
    if lic is not None and lic not in _LICENSES:
        errors.append(f'"license" must be one of the Hub\'s licence ids, got "{lic}"')
    if lic == "other" and not meta.get("license_name"):
        errors.append('"license_name" is required when "license" is "other"')
    if repo_type == "dataset":
        bad = [s for s in meta.get("size_categories") or [] if s not in _SIZES]
        if bad:
            errors.append(f'"size_categories" has unknown values: {bad}')
    if "tags" in meta and not all(isinstance(t, str) for t in meta["tags"] or []):
        errors.append('"tags" must be a list of strings')
    return errors


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: dict | None = None, content_type: str = "application/json"):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                return True
            self._send(401, {"error": "Invalid credentials in Authorization header"})
            return False

        def do_GET(self):
            hub.requests.append(("GET", self.path))
            self._send(404, {"error": "not found"})

        def do_PUT(self):
            hub.requests.append(("PUT", self.path))
            m = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", self.path)
            data = self._body()
            if not m:
                return self._send(404, {"error": "not found"})
            if hashlib.sha256(data).hexdigest() != m.group(1):
                return self._send(400, {"error": "sha256 mismatch"})
            hub.lfs[m.group(1)] = data
            self._send(200, {})

        def do_POST(self):
            path = self.path.split("?")[0]
            hub.requests.append(("POST", path))
            body = self._body()
            if path == "/api/validate-yaml":
                req = json.loads(body)
                errors = validate_front_matter(req["content"], req.get("repoType", "model"))
                return self._send(400 if errors else 200, {"errors": [{"message": e} for e in errors],
                                                           "warnings": []})
            if not self._authorized():
                return None
            if path == "/api/repos/create":
                req = json.loads(body)
                repo_id = f"{req.get('organization') or USER}/{req['name']}"
                key = (req.get("type") or "model", repo_id)
                if key in hub.repos:
                    return self._send(409, {"error": "You already created this repo", "url": f"{hub.url}/{repo_id}"})
                hub.repos[key] = Repo(key[0], req.get("private") is True or req.get("visibility") == "private")
                prefix = "" if key[0] == "model" else f"{key[0]}s/"
                return self._send(200, {"url": f"{hub.url}/{prefix}{repo_id}", "name": repo_id, "id": "1"})
            m = re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
            if m:
                repo = hub.repos.get((m.group(1)[:-1], m.group(2)))
                if repo is None:
                    return self._send(404, {"error": "Repository not found"})
                if m.group(3) == "preupload":
                    files = json.loads(body)["files"]
                    return self._send(200, {"files": [
                        {"path": f["path"], "shouldIgnore": False,
                         "uploadMode": "lfs" if f["path"].endswith((".safetensors", ".bin")) else "regular"}
                        for f in files]})
                return self._commit(repo, body, m.group(2))
            m = re.fullmatch(r"/(?:datasets/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
            if m:
                objects = json.loads(body)["objects"]
                data = {"transfer": "basic", "objects": [
                    {"oid": o["oid"], "size": o["size"],
                     "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}", "header": {}}}}
                    for o in objects]}
                return self._send(200, data, "application/vnd.git-lfs+json")
            return self._send(404, {"error": "not found"})

        def _commit(self, repo: Repo, body: bytes, repo_id: str):
            staged: dict[str, bytes] = {}
            header = None
            for line in body.decode().splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "header":
                    header = value
                elif item["key"] == "file":
                    staged[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "lfsFile":
                    if value["oid"] not in hub.lfs:
                        return self._send(400, {"error": f"LFS object {value['oid']} was not uploaded"})
                    staged[value["path"]] = hub.lfs[value["oid"]]
            repo.files.update(staged)
            repo.commits.append((header or {}).get("summary", ""))
            oid = hashlib.sha1(json.dumps(sorted(staged)).encode()).hexdigest()
            return self._send(200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid})

    return Handler


class running_hub:  # noqa: N801 - used as a context manager, like open()
    """``with running_hub() as hub:`` a :class:`FakeHub` served on 127.0.0.1 for the block's duration."""

    def __enter__(self) -> FakeHub:
        self.hub = FakeHub()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.hub))
        self.hub.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.hub

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
